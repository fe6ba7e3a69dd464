#!/usr/bin/env python3
"""Checks the AWS delivery files offline: taskdef.json against the ECS RegisterTaskDefinition
input shape from botocore (placeholders filled first, duplicate keys refused), the required keys
of appspec.yaml and buildspec.yml, and that the names agree across the files, the Dockerfile
and the stack in infra/ (container name, port, image placeholder, health-check command, the
secrets the task reads and the roles allowed to read them)."""
import json
import re
import sys

import botocore.session
import yaml
from botocore.validate import ParamValidator

problems = []


def check(ok, message):
    if not ok:
        problems.append(message)


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    dupes = {k for k in keys if keys.count(k) > 1}
    if dupes:
        raise ValueError(f"duplicate keys {sorted(dupes)}")
    return dict(pairs)


raw = open("taskdef.json").read()
check("<IMAGE1_NAME>" in raw, "taskdef.json: image must be the literal <IMAGE1_NAME>")
check(not re.search(r"\b\d{12}\b", raw), "taskdef.json: no account id in the repository (use ${AWS_ACCOUNT_ID})")
filled = raw.replace("${AWS_ACCOUNT_ID}", "123456789012").replace("${AWS_REGION}", "eu-west-1")
filled = filled.replace("${IEX_BASE_URL}", "https://iex.example.com")
filled = filled.replace("${TRUSTED_PROXIES}", "10.0.0.0/16")
filled = filled.replace("<IMAGE1_NAME>", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/stock-ticker:abc123")
check("${" not in filled, "taskdef.json: a placeholder other than ${AWS_ACCOUNT_ID}/${AWS_REGION}/${IEX_BASE_URL}/${TRUSTED_PROXIES} is left")
taskdef = json.loads(filled, object_pairs_hook=no_duplicates)

ecs = botocore.session.get_session().get_service_model("ecs")
report = ParamValidator().validate(taskdef, ecs.operation_model("RegisterTaskDefinition").input_shape)
check(not report.has_errors(), "taskdef.json does not fit RegisterTaskDefinition:\n" + report.generate_report())

fargate = {256: [512, 1024, 2048], 512: list(range(1024, 4097, 1024)), 1024: list(range(2048, 8193, 1024)),
           2048: list(range(4096, 16385, 1024)), 4096: list(range(8192, 30721, 1024))}
cpu, memory = int(taskdef["cpu"]), int(taskdef["memory"])
check(memory in fargate.get(cpu, []), f"taskdef.json: {cpu} CPU units cannot have {memory} MiB on Fargate")
check(taskdef.get("networkMode") == "awsvpc" and "FARGATE" in taskdef.get("requiresCompatibilities", []),
      "taskdef.json: Fargate needs awsvpc")
check(taskdef.get("executionRoleArn") != taskdef.get("taskRoleArn"), "taskdef.json: execution and task roles differ")

containers = taskdef["containerDefinitions"]
check(len(containers) == 1, "taskdef.json: one container")
c = containers[0]
ports = [p["containerPort"] for p in c.get("portMappings", [])]
check(c.get("readonlyRootFilesystem") is True, "taskdef.json: read-only root filesystem")
check(c.get("user", "").split(":")[0] not in ("", "0", "root"), "taskdef.json: a non-root user")
check(0 < c.get("stopTimeout", 0) <= 120, "taskdef.json: stopTimeout between 1 and 120 s")
log = c.get("logConfiguration", {})
check(log.get("logDriver") == "awslogs" and {"awslogs-group", "awslogs-region", "awslogs-stream-prefix", "mode"} <= set(log.get("options", {})),
      "taskdef.json: awslogs with group, region, stream prefix and mode")
env = {e["name"]: e["value"] for e in c.get("environment", [])}
grace = int(env.get("SHUTDOWN_GRACE_SECS", "20"))
check(grace < c.get("stopTimeout", 30), "taskdef.json: SHUTDOWN_GRACE_SECS below stopTimeout")
check(env.get("LOG_FORMAT") == "json", "taskdef.json: JSON logs for CloudWatch")

appspec = yaml.safe_load(open("appspec.yaml"))
check(str(appspec.get("version")) in ("0.0", "0"), "appspec.yaml: version 0.0")
targets = [r["TargetService"] for r in appspec.get("Resources", []) if "TargetService" in r]
check(len(targets) == 1, "appspec.yaml: exactly one TargetService")
if targets:
    t = targets[0]
    props = t.get("Properties", {})
    check(t.get("Type") == "AWS::ECS::Service", "appspec.yaml: Type AWS::ECS::Service")
    check(props.get("TaskDefinition") == "<TASK_DEFINITION>", "appspec.yaml: TaskDefinition <TASK_DEFINITION>")
    lb = props.get("LoadBalancerInfo", {})
    check(lb.get("ContainerName") == c["name"], "appspec.yaml: ContainerName is the task's container")
    check(lb.get("ContainerPort") in ports, "appspec.yaml: ContainerPort is one of the container's ports")

build = yaml.safe_load(open("buildspec.yml"))
check(str(build.get("version")) == "0.2", "buildspec.yml: version 0.2")
phases = build.get("phases", {})
check({"install", "pre_build", "build", "post_build"} <= set(phases), "buildspec.yml: all four phases")
files = build.get("artifacts", {}).get("files", [])
for needed in ("imageDetail.json", "imagedefinitions.json", "appspec.yaml", "taskdef.rendered.json"):
    check(needed in files, f"buildspec.yml: artifact {needed}")
post = " ".join(phases.get("post_build", {}).get("commands", []))
check("CODEBUILD_BUILD_SUCCEEDING" in post, "buildspec.yml: post_build checks that the build succeeded")
check("imageDetail.json" in post and '"ImageURI"' in post, "buildspec.yml: writes imageDetail.json with ImageURI")
check(build.get("env", {}).get("variables", {}).get("CONTAINER_NAME") == c["name"], "buildspec.yml: CONTAINER_NAME is the task's container")
check("--locked" in " ".join(phases.get("build", {}).get("commands", [])), "buildspec.yml: builds with --locked")

docker = open("Dockerfile").read().replace("\\\n", " ")
final = docker.split("\nFROM ")[-1]
expose = [int(p) for p in re.findall(r"^EXPOSE\s+(\d+)", final, re.M)]
check(expose and expose[0] in ports, "Dockerfile EXPOSE is the container port")
health = json.loads(re.search(r"^HEALTHCHECK\s+(?:--\S+\s+)*CMD\s+(\[.*\])\s*$", final, re.M).group(1))
check(c.get("healthCheck", {}).get("command") == ["CMD"] + health, "taskdef.json healthCheck runs the Dockerfile's HEALTHCHECK")
check(f"0.0.0.0:{ports[0]}" == env.get("BIND"), "taskdef.json BIND listens on the container port")

# The stack: every secret the task names exists there, under that name, and the right role may
# read it (ECS-injected `secrets`: the execution role; ids read at run time: the task role).
class StackLoader(yaml.SafeLoader):
    pass


def intrinsic(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node, deep=True)}
    return {suffix: loader.construct_mapping(node, deep=True)}


StackLoader.add_multi_constructor("!", intrinsic)
stack = yaml.load(open("infra/stock-ticker.yaml"), Loader=StackLoader)["Resources"]
secret_names = {props["Properties"]["Name"]: logical for logical, props in stack.items()
                if props["Type"] == "AWS::SecretsManager::Secret"}


def readable_by(role):
    refs = set()
    for policy in stack[role]["Properties"].get("Policies", []):
        for st in policy["PolicyDocument"]["Statement"]:
            if "secretsmanager:GetSecretValue" in str(st.get("Action")):
                resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                refs |= {r.get("Ref") for r in resources if isinstance(r, dict)}
    return refs


runtime = {k: v for k, v in env.items() if k.endswith("_SECRET_ID")}
check({"DATABASE_SECRET_ID", "SECRET_TOKEN_SECRET_ID"} <= set(runtime),
      "taskdef.json: DATABASE_SECRET_ID and SECRET_TOKEN_SECRET_ID are read at run time")
for setting, name in runtime.items():
    logical = secret_names.get(name)
    check(logical is not None, f"taskdef.json: {setting} names {name!r}, which the stack does not create")
    check(logical in readable_by("TaskRole"), f"infra: the task role cannot read {name!r} ({setting})")
for s in c.get("secrets", []):
    logical = secret_names.get(s["valueFrom"])
    check(logical is not None, f"taskdef.json: secret {s['name']} comes from {s['valueFrom']!r}, which the stack does not create")
    check(logical in readable_by("ExecutionRole"), f"infra: the execution role cannot read {s['valueFrom']!r}")
boot = stack["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
boot_env = {e["Name"]: e["Value"] for e in boot.get("Environment", [])}
for key in ("BIND", "LOG_FORMAT", "DATABASE_URL", *runtime):
    check(boot_env.get(key) == env.get(key), f"infra: the bootstrap task's {key} differs from taskdef.json's")
check(boot.get("Name") == c["name"], "infra: the bootstrap container has the task's container name")

if problems:
    print("\n".join("AWS files: " + p for p in problems))
    sys.exit(1)
print(f"AWS files: taskdef.json fits RegisterTaskDefinition ({cpu} CPU / {memory} MiB), "
      f"appspec.yaml and buildspec.yml have their keys, names agree (container {c['name']}, port {ports[0]}, "
      f"secrets {', '.join(sorted(runtime.values()))} readable by the task role)")
