#!/usr/bin/env python3
"""Checks the AWS delivery files offline, against what AWS documents rather than only their
schemas:

- taskdef.json, rendered exactly as buildspec.yml renders it (envsubst of the variables the
  CodeBuild project gets from the stack), against botocore's RegisterTaskDefinition shape and
  registered in moto's ECS; every `valueFrom` and `*_SECRET_ID` is a Secrets Manager ARN of this
  account and region naming a secret the stack creates, and the right role may read it;
- the stack's core resources created in moto (secrets through the Secrets Manager API, as
  moto's CloudFormation has no secrets; roles, repository, log group, cluster and topic through
  moto's CloudFormation from the template itself);
- the delivery rules the template, appspec.yaml, buildspec.yml and the Dockerfile must keep:
  rotation, retained secrets, the first deploy, rollback guards, the pipeline's test gate,
  hardening (see `rules`);
- the smoke-test function's code, run against local servers that answer and that fail;
- the database user task's script, run against the local PostgreSQL, then a rotation with
  alternating users as Secrets Manager's function performs it.

Then every defect in MUTATIONS is put back into a copy of the files, one at a time: the checks
must name each. Run by scripts/check-aws."""
import contextlib
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import types
import urllib.request
import uuid

import boto3
import botocore.session
import yaml
from botocore.validate import ParamValidator

FILES = ("taskdef.json", "appspec.yaml", "buildspec.yml", "Dockerfile", "infra/stock-ticker.yaml")
REGION = "eu-west-1"
# Values of the stack's parameters the CodeBuild project passes on.
PARAMETERS = {"IexBaseUrl": "https://iex.example.com", "VpcCidr": "10.0.0.0/16"}
# Actions AWS offers no resource-level permissions for: only these may have Resource "*".
UNSCOPABLE = {"ecs:RegisterTaskDefinition", "ecr:GetAuthorizationToken", "ecr-public:GetAuthorizationToken",
              "sts:GetServiceBearerToken", "ec2:DescribeNetworkInterfaces"}
SECRET_ARN = re.compile(r"^arn:aws:secretsmanager:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):secret:"
                        r"(?P<name>[A-Za-z0-9/_+=.@-]+)-[A-Za-z0-9]{6}(?::[^:]*:[^:]*:[^:]*)?$")
SSM_ARN = re.compile(r"^arn:aws:ssm:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):parameter/.+$")
PINNED = re.compile(r"^(public\.ecr\.aws/|gcr\.io/distroless/)\S+@sha256:[0-9a-f]{64}$")


class StackLoader(yaml.SafeLoader):
    pass


def _intrinsic(loader, suffix, node):
    name = {"Ref": "Ref", "Condition": "Condition"}.get(suffix, "Fn::" + suffix)
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = value.split(".", 1)
        return {name: value}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}


StackLoader.add_multi_constructor("!", _intrinsic)


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    dupes = {k for k in keys if keys.count(k) > 1}
    if dupes:
        raise ValueError(f"duplicate keys {sorted(dupes)}")
    return dict(pairs)


def names_in(node):
    """Logical ids and parameters a template value refers to (Ref, GetAtt, ${} in Sub)."""
    found = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0])
            elif key == "Fn::Sub":
                text, extra = (value, {}) if isinstance(value, str) else (value[0], value[1])
                local = set(extra)
                found |= {n.split(".")[0] for n in re.findall(r"\$\{([^!}][^}]*)\}", text)} - local
                found |= names_in(extra)
            else:
                found |= names_in(value)
    elif isinstance(node, list):
        for item in node:
            found |= names_in(item)
    return found


def as_list(value):
    return value if isinstance(value, list) else [value]


# ----- the stack's core resources in moto -------------------------------------------------------
CORE = ("ExecutionRole", "TaskRole", "Repository", "LogGroup", "Cluster", "AlarmTopic")


def deploy(stack, endpoint):
    """Creates the stack's secrets and core resources in moto; returns what Ref and GetAtt give."""
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
    client = lambda service: session.client(service, endpoint_url=endpoint)  # noqa: E731
    resources = stack["Resources"]
    refs, attrs = dict(PARAMETERS), {}
    secrets = client("secretsmanager")
    for logical, resource in resources.items():
        if resource["Type"] == "AWS::SecretsManager::Secret":
            props = resource["Properties"]
            made = secrets.create_secret(Name=props["Name"], Description=props.get("Description", ""),
                                         SecretString=json.dumps({"generated": uuid.uuid4().hex}))
            refs[logical] = made["ARN"]
    # The core resources from the template itself, secret references resolved as CloudFormation
    # would resolve them.
    def resolve(node):
        if isinstance(node, dict):
            if set(node) == {"Ref"} and node["Ref"] in refs and node["Ref"] not in CORE:
                return refs[node["Ref"]]
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node
    core = {name: resolve(resources[name]) for name in CORE}
    for resource in core.values():
        resource.pop("Metadata", None)
    # The conditions they use, and those conditions' parameters at their defaults.
    used = {n for r in core.values() for n in re.findall(r'"Fn::If": \["(\w+)"', json.dumps(r))}
    conditions = {n: stack["Conditions"][n] for n in used}
    parameters = {n: stack["Parameters"][n] for n in names_in(conditions) if n in stack["Parameters"]}
    template = {"AWSTemplateFormatVersion": "2010-09-09", "Parameters": parameters, "Conditions": conditions, "Resources": core,
                "Outputs": {f"{n}Arn": {"Value": {"Fn::GetAtt": [n, "Arn"]}} for n in ("ExecutionRole", "TaskRole")}}
    cfn = client("cloudformation")
    cfn.create_stack(StackName="stock-ticker", TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_NAMED_IAM"])
    made = cfn.describe_stacks(StackName="stock-ticker")["Stacks"][0]
    if made["StackStatus"] != "CREATE_COMPLETE":
        raise SystemExit(f"moto could not create the core resources: {made['StackStatus']}")
    for out in made.get("Outputs", []):
        attrs[(out["OutputKey"][:-3], "Arn")] = out["OutputValue"]
    for res in cfn.list_stack_resources(StackName="stock-ticker")["StackResourceSummaries"]:
        refs[res["LogicalResourceId"]] = res["PhysicalResourceId"]
    iam = client("iam")
    for role in ("ExecutionRole", "TaskRole"):
        name = iam.get_role(RoleName=refs[role])["Role"]["RoleName"]
        policies = iam.list_role_policies(RoleName=name)["PolicyNames"]
        if not policies:
            raise SystemExit(f"moto created {role} without its policies")
    account = attrs[("ExecutionRole", "Arn")].split(":")[4]
    return {"refs": refs, "attrs": attrs, "account": account, "ecs": client("ecs")}


# ----- the rules ----------------------------------------------------------------------------------
def rules(texts, deployed):
    problems = []

    def check(ok, message):
        if not ok:
            problems.append(message)
        return ok

    stack = yaml.load(texts["infra/stock-ticker.yaml"], Loader=StackLoader)
    res = stack["Resources"]
    of_type = lambda t: {k: v for k, v in res.items() if v["Type"] == t}  # noqa: E731
    props = lambda name: res.get(name, {}).get("Properties", {})  # noqa: E731
    build = yaml.safe_load(texts["buildspec.yml"])
    appspec = yaml.safe_load(texts["appspec.yaml"])
    phases = build.get("phases", {})
    for phase, body in phases.items():
        for command in body.get("commands", []):
            check(isinstance(command, str), f"buildspec.yml: a {phase} command is not a string (quote it): {command}")
    commands = {p: " ".join(str(c) for c in phases.get(p, {}).get("commands", [])) for p in ("install", "pre_build", "build", "post_build")}
    variables = build.get("env", {}).get("variables", {})

    # --- taskdef.json, rendered as the build renders it -----------------------------------------
    raw = texts["taskdef.json"]
    check("<IMAGE1_NAME>" in raw, "taskdef.json: image must be the literal <IMAGE1_NAME>")
    check(not re.search(r"\b\d{12}\b", raw), "taskdef.json: no account id in the repository")
    listed = re.search(r"envsubst\s+'([^']*)'", commands["post_build"])
    check(listed and "taskdef.json" in commands["post_build"] and "taskdef.rendered.json" in commands["post_build"],
          "buildspec.yml: renders taskdef.json with envsubst and a variable list into taskdef.rendered.json")
    names = re.findall(r"\$\{(\w+)\}", listed.group(1)) if listed else []
    codebuild_env = {e["Name"]: e["Value"] for e in props("BuildProject").get("Environment", {}).get("EnvironmentVariables", [])}
    values = {}
    for name in names:
        if name == "AWS_REGION":
            check(f"AWS_REGION=\"$AWS_DEFAULT_REGION\"" in commands["post_build"], "buildspec.yml: sets AWS_REGION for envsubst")
            values[name] = REGION
            continue
        expr = codebuild_env.get(name)
        if not check(expr is not None, f"buildspec.yml renders ${{{name}}}, which the CodeBuild project does not set"):
            continue
        if isinstance(expr, dict) and "Ref" in expr:
            value = deployed["refs"].get(expr["Ref"])
        elif isinstance(expr, dict) and "Fn::GetAtt" in expr:
            value = deployed["attrs"].get(tuple(expr["Fn::GetAtt"]))
        else:
            value = expr
        if check(value is not None, f"infra: the CodeBuild variable {name} ({expr}) has no value the stack gives"):
            values[name] = value
    rendered = re.sub(r"\$\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), raw)
    check("${" not in rendered, "taskdef.json: a ${VARIABLE} is left after the build's envsubst: "
          + ", ".join(sorted(set(re.findall(r"\$\{\w+\}", rendered)))))
    filled = rendered.replace("<IMAGE1_NAME>", f"{deployed['account']}.dkr.ecr.{REGION}.amazonaws.com/stock-ticker:0123456789ab-1")
    taskdef = json.loads(filled, object_pairs_hook=no_duplicates)
    ecs_model = botocore.session.get_session().get_service_model("ecs")
    report = ParamValidator().validate(taskdef, ecs_model.operation_model("RegisterTaskDefinition").input_shape)
    if check(not report.has_errors(), "taskdef.json does not fit RegisterTaskDefinition:\n" + report.generate_report()):
        try:
            deployed["ecs"].register_task_definition(**taskdef)
        except Exception as error:  # noqa: BLE001
            check(False, f"taskdef.json: moto's ECS refuses it: {error}")
    fargate = {256: [512, 1024, 2048], 512: list(range(1024, 4097, 1024)), 1024: list(range(2048, 8193, 1024)),
               2048: list(range(4096, 16385, 1024)), 4096: list(range(8192, 30721, 1024))}
    cpu, memory = int(taskdef["cpu"]), int(taskdef["memory"])
    check(memory in fargate.get(cpu, []), f"taskdef.json: {cpu} CPU units cannot have {memory} MiB on Fargate")
    check(taskdef.get("networkMode") == "awsvpc", "taskdef.json: Fargate needs awsvpc")
    containers = taskdef["containerDefinitions"]
    check(len(containers) == 1, "taskdef.json: one container")
    c = containers[0]
    ports = [p["containerPort"] for p in c.get("portMappings", [])]
    env = {e["name"]: e["value"] for e in c.get("environment", [])}
    check(c.get("readonlyRootFilesystem") is True, "taskdef.json: read-only root filesystem")
    check(c.get("user", "").split(":")[0] not in ("", "0", "root"), "taskdef.json: a non-root user")
    check(int(env.get("SHUTDOWN_GRACE_SECS", "20")) < c.get("stopTimeout", 30) <= 120, "taskdef.json: SHUTDOWN_GRACE_SECS below stopTimeout (at most 120)")
    log = c.get("logConfiguration", {}).get("options", {})
    check(log.get("awslogs-group") == deployed["refs"]["LogGroup"] and log.get("awslogs-region") == REGION and "mode" in log,
          "taskdef.json: awslogs into the stack's log group and region, mode set")

    roles = {"ExecutionRole": taskdef.get("executionRoleArn"), "TaskRole": taskdef.get("taskRoleArn")}
    for logical, arn in roles.items():
        check(arn == deployed["attrs"].get((logical, "Arn")), f"taskdef.json: the {logical} ARN is not the stack's ({arn})")
    secret_arns = {deployed["refs"][k]: k for k, v in res.items() if v["Type"] == "AWS::SecretsManager::Secret" and k in deployed["refs"]}

    def readable(role, arn):
        for policy in props(role).get("Policies", []):
            for st in as_list(policy["PolicyDocument"]["Statement"]):
                if st.get("Effect") == "Allow" and "secretsmanager:GetSecretValue" in as_list(st.get("Action")):
                    for r in as_list(st.get("Resource")):
                        if isinstance(r, dict) and "Ref" in r and deployed["refs"].get(r["Ref"]) == ":".join(arn.split(":")[:7]):
                            return True
        return False

    def secret_reference(what, value, role):
        m = SECRET_ARN.match(value or "") or SSM_ARN.match(value or "")
        if not check(m is not None, f"taskdef.json: {what} is {value!r}, not a Secrets Manager (or SSM parameter) ARN; "
                     "ECS reads a bare name as an SSM parameter"):
            return
        check(m["region"] == REGION and m["account"] == deployed["account"],
              f"taskdef.json: {what} names another account or region ({value})")
        base = ":".join(value.split(":")[:7])
        check(base in secret_arns, f"taskdef.json: {what} ({value}) is not a secret the stack creates")
        check(readable(role, value), f"infra: the {role} may not read {what} ({value})")

    for s in c.get("secrets", []):
        secret_reference(f"secret {s['name']}'s valueFrom", s.get("valueFrom"), "ExecutionRole")
    runtime = {k: v for k, v in env.items() if k.endswith("_SECRET_ID")}
    check({"DATABASE_SECRET_ID", "SECRET_TOKEN_SECRET_ID"} <= set(runtime), "taskdef.json: DATABASE_SECRET_ID and SECRET_TOKEN_SECRET_ID are read at run time")
    for k, v in runtime.items():
        secret_reference(k, v, "TaskRole")

    # /metrics stays off the load balancer's port.
    metrics = env.get("METRICS_BIND", "")
    check(metrics and metrics.rsplit(":", 1)[-1] not in {str(p) for p in ports},
          "taskdef.json: METRICS_BIND puts /metrics on its own port, not one the load balancer reaches")

    # --- appspec.yaml ------------------------------------------------------------------------------
    targets = [r["TargetService"] for r in appspec.get("Resources", []) if "TargetService" in r]
    check(len(targets) == 1, "appspec.yaml: exactly one TargetService")
    if targets:
        t = targets[0].get("Properties", {})
        check(t.get("TaskDefinition") == "<TASK_DEFINITION>", "appspec.yaml: TaskDefinition <TASK_DEFINITION>")
        lb = t.get("LoadBalancerInfo", {})
        check(lb.get("ContainerName") == c["name"] and lb.get("ContainerPort") in ports, "appspec.yaml: container and port of taskdef.json")
    hooks = {k: v for h in appspec.get("Hooks", []) or [] for k, v in h.items()}
    functions = {v["Properties"].get("FunctionName"): k for k, v in of_type("AWS::Lambda::Function").items()}
    hook = hooks.get("AfterAllowTestTraffic")
    check(hook in functions, "appspec.yaml: an AfterAllowTestTraffic hook names the stack's smoke-test function")
    check(str(hook).startswith("CodeDeployHook_"), "appspec.yaml: hook functions are named CodeDeployHook_* (what CodeDeploy's ECS policies may invoke)")

    # --- buildspec.yml: the same gate as CI ---------------------------------------------------------
    check(str(build.get("version")) == "0.2", "buildspec.yml: version 0.2")
    check(str(variables.get("STOCK_TICKER_REQUIRE_ALL_TESTS")) == "1", "buildspec.yml: STOCK_TICKER_REQUIRE_ALL_TESTS=1 (no test may skip)")
    check(str(variables.get("TEST_DATABASE_URL", "")).startswith("postgres://"), "buildspec.yml: TEST_DATABASE_URL for the PostgreSQL tests")
    check(re.search(r"docker run .*\$POSTGRES_IMAGE", commands["pre_build"]) and PINNED.match(str(variables.get("POSTGRES_IMAGE", ""))),
          "buildspec.yml: starts PostgreSQL from a pinned ECR Public image")
    check("pg_isready" in commands["pre_build"], "buildspec.yml: waits for PostgreSQL")
    check("scripts/venv" in commands["pre_build"] + commands["install"], "buildspec.yml: installs moto (scripts/venv)")
    tests = [str(c) for c in phases.get("build", {}).get("commands", []) if str(c).startswith("cargo test")]
    check(tests == ["cargo test --locked -- --skip browser::"], f"buildspec.yml: runs every test but the browser's (cargo test --locked -- --skip browser::), not {tests}")
    check("cargo clippy" in commands["build"] and "cargo fmt --check" in commands["build"], "buildspec.yml: fmt and clippy as CI")
    paths = " ".join(build.get("cache", {}).get("paths", []))
    check(".cargo/registry" in paths and variables.get("CARGO_TARGET_DIR", "~") in paths, "buildspec.yml: caches the cargo registry and target dir")
    check(props("BuildProject").get("Cache", {}).get("Type") in ("S3", "LOCAL"), "infra: the CodeBuild project keeps a cache")
    check(props("BuildProject").get("Environment", {}).get("PrivilegedMode") is True, "infra: CodeBuild runs privileged (Docker)")
    check("CODEBUILD_BUILD_SUCCEEDING" in commands["post_build"], "buildspec.yml: post_build checks that the build succeeded")
    check(re.search(r'TAG=.*-\$CODEBUILD_BUILD_NUMBER"', commands["pre_build"]),
          "buildspec.yml: tags are unique per build (the repository's tags are immutable)")
    for needed in ("imageDetail.json", "appspec.yaml", "taskdef.rendered.json"):
        check(needed in build.get("artifacts", {}).get("files", []), f"buildspec.yml: artifact {needed}")
    check(variables.get("CONTAINER_NAME") == c["name"], "buildspec.yml: CONTAINER_NAME is the task's container")

    # --- Dockerfile ------------------------------------------------------------------------------------
    docker = texts["Dockerfile"].replace("\\\n", " ")
    stages = set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", docker, re.M | re.I))
    for image in re.findall(r"^FROM\s+(\S+)", docker, re.M):
        if image not in stages:
            check(PINNED.match(image), f"Dockerfile: {image} is not pinned by digest from ECR Public (or distroless' gcr.io)")
    check(not re.search(r"^#\s*syntax\s*=", docker, re.M), "Dockerfile: no # syntax= line (its frontend image comes from Docker Hub)")
    check("--driver-opt image=public.ecr.aws/" in commands["build"], "buildspec.yml: the BuildKit builder image from ECR Public, not Docker Hub")
    final = docker.split("\nFROM ")[-1]
    expose = [int(p) for p in re.findall(r"^EXPOSE\s+(\d+)", final, re.M)]
    check(expose and expose[0] in ports, "Dockerfile EXPOSE is the container port")
    health = re.search(r"^HEALTHCHECK\s+(?:--\S+\s+)*CMD\s+(\[.*\])\s*$", final, re.M)
    check(health and c.get("healthCheck", {}).get("command") == ["CMD"] + json.loads(health.group(1)), "taskdef.json healthCheck runs the Dockerfile's HEALTHCHECK")

    # --- secrets and rotation -----------------------------------------------------------------------
    check(stack.get("Transform") == "AWS::SecretsManager-2024-09-16", "infra: the Secrets Manager transform (hosted rotation)")
    for name, secret in of_type("AWS::SecretsManager::Secret").items():
        check(secret.get("DeletionPolicy") == "Retain" and secret.get("UpdateReplacePolicy") == "Retain",
              f"infra: secret {name} needs DeletionPolicy and UpdateReplacePolicy Retain")
    schedules = {v["Properties"]["SecretId"].get("Ref"): v["Properties"] for v in of_type("AWS::SecretsManager::RotationSchedule").values()}
    rotation = schedules.get("DatabaseSecret", {})
    hosted = rotation.get("HostedRotationLambda", {})
    check(hosted.get("RotationType") == "PostgreSQLMultiUser" and "MasterSecretArn" in hosted,
          "infra: the database secret rotates with the hosted alternating-users function")
    check("RotationRules" in rotation, "infra: the database secret has a rotation schedule")
    reminders = [v for v in of_type("AWS::Events::Rule").values() if "iex-token" in json.dumps(v["Properties"].get("Targets", []))]
    check(reminders and "ScheduleExpression" in reminders[0]["Properties"], "infra: a schedule asks for the IEX token's rotation")
    rotation_groups = {g.strip() for g in as_list(hosted.get("VpcSecurityGroupIds", {}).get("Ref", ""))}
    db_ingress = props("DatabaseSecurityGroup").get("SecurityGroupIngress", [])
    allowed = {r.get("SourceSecurityGroupId", {}).get("Ref") for r in db_ingress if r.get("FromPort") == 5432}
    check(rotation_groups and rotation_groups <= allowed, "infra: the database accepts the rotation function's security group")
    check("ServiceSecurityGroup" in allowed, "infra: the database accepts the tasks")
    endpoints = [v for v in of_type("AWS::EC2::VPCEndpoint").values() if "secretsmanager" in json.dumps(v["Properties"].get("ServiceName"))]
    check(endpoints and endpoints[0]["Properties"].get("PrivateDnsEnabled") is True, "infra: a Secrets Manager endpoint with private DNS for the rotation function")
    db = props("Database")
    check(db.get("ManageMasterUserPassword") is True and "MasterUserPassword" not in db, "infra: RDS manages the master password")
    template = props("DatabaseSecret").get("GenerateSecretString", {}).get("SecretStringTemplate", "")
    template = template.get("Fn::Sub", template) if isinstance(template, dict) else template
    app_user = (re.search(r'"username":\s*"([^"]+)"', str(template)) or [None, None])[1]
    check(app_user and app_user != db.get("MasterUsername"), "infra: the app's database user is not the master")
    check(f'"dbname": "{db.get("DBName")}"' in str(template), "infra: the app's secret names the database (dbname): a clone user would otherwise look for a database of its own name")
    check(res.get("DatabaseRotation", {}).get("Condition") == res.get("Service", {}).get("Condition"),
          "infra: the rotation schedule comes with the service, after the database user exists (a new schedule tests a login)")
    check("masterarn" in str(template), "infra: the app's secret names its master secret (masterarn) for the rotation")
    check(f"options[role]={app_user}" in env.get("DATABASE_URL", ""), "taskdef.json: the app acts as its own role (DATABASE_URL options[role]) whichever user logs in")
    check(db.get("MultiAZ") == {"Ref": "DatabaseMultiAz"}, "infra: Multi-AZ is the DatabaseMultiAz parameter")
    user_task = props("DatabaseUserTaskDefinition").get("ContainerDefinitions", [{}])[0]
    check(PINNED.match(str(user_task.get("Image"))), "infra: the database user task's image is pinned from ECR Public")
    check({"Name": "APP_USER", "Value": app_user} in user_task.get("Environment", []), "infra: the database user task creates the secret's user")

    # --- the first deploy ---------------------------------------------------------------------------
    service = res.get("Service", {})
    conditions = stack.get("Conditions", {})
    check(service.get("Condition") and "ImageTag" in json.dumps(conditions.get(service.get("Condition"))),
          "infra: the service is created only once an image exists (ImageTag)")
    boot = props("TaskDefinition")
    image = boot.get("ContainerDefinitions", [{}])[0].get("Image")
    check(names_in(image) == {"Repository", "ImageTag"}, "infra: the first task definition runs the repository's ImageTag image")
    params = set(stack.get("Parameters", {}))
    check(names_in(boot) & params == {"ImageTag"},
          f"infra: the first task definition may use no parameter but ImageTag (a stack update must not change it): {sorted(names_in(boot) & params - {'ImageTag'})}")
    boot_env = {e["Name"]: e["Value"] for e in boot.get("ContainerDefinitions", [{}])[0].get("Environment", [])}
    for key in ("BIND", "METRICS_BIND", "LOG_FORMAT", "DATABASE_URL"):
        check(boot_env.get(key) == env.get(key), f"infra: the first task definition's {key} differs from taskdef.json's")
    check(res.get("DeploymentGroup", {}).get("Condition") == service.get("Condition"), "infra: the deployment group comes with the service")
    min_tasks = stack.get("Parameters", {}).get("MinTasks", {})
    check(int(min_tasks.get("MinValue", 0)) >= 2 and props("ScalableTarget").get("MinCapacity") == {"Ref": "MinTasks"},
          "infra: at least two tasks (autoscaling's minimum)")
    metrics_used = json.dumps([p["Properties"] for p in of_type("AWS::ApplicationAutoScaling::ScalingPolicy").values()])
    check("ECSServiceAverageCPUUtilization" in metrics_used and "RequestCount" in metrics_used, "infra: autoscaling on CPU and requests")

    # --- rollback -------------------------------------------------------------------------------------
    group = props("DeploymentGroup")
    check(re.match(r"CodeDeployDefault\.ECS(Canary|Linear)", group.get("DeploymentConfigName", "")), "infra: a canary or linear traffic shift")
    check("DEPLOYMENT_STOP_ON_ALARM" in group.get("AutoRollbackConfiguration", {}).get("Events", []), "infra: alarms roll a deployment back")
    wait = group.get("BlueGreenDeploymentConfiguration", {}).get("TerminateBlueInstancesOnDeploymentSuccess", {})
    check(wait.get("TerminationWaitTimeInMinutes", 0) > 0, "infra: the old tasks stay a while after success")
    alarms = [res.get(a["Name"].get("Ref"), {}).get("Properties", {}) for a in group.get("AlarmConfiguration", {}).get("Alarms", [])]
    pairs = group.get("LoadBalancerInfo", {}).get("TargetGroupPairInfoList", [{}])[0]
    groups = {tg["Name"]["Fn::GetAtt"][0] for tg in pairs.get("TargetGroups", [])}
    check(len(groups) == 2, "infra: two target groups")
    for metric in ("UnHealthyHostCount", "HTTPCode_Target_5XX_Count"):
        watched = {d["Value"]["Fn::GetAtt"][0] for a in alarms if a.get("MetricName") == metric
                   for d in a.get("Dimensions", []) if d["Name"] == "TargetGroup"}
        check(groups <= watched, f"infra: the deployment's alarms watch {metric} of both target groups (CodeDeploy alternates them)")
    check(any(a.get("MetricName") == "HTTPCode_ELB_5XX_Count" for a in alarms), "infra: an alarm on the load balancer's own 5xx")
    for name, alarm in of_type("AWS::CloudWatch::Alarm").items():
        check(alarm["Properties"].get("AlarmActions"), f"infra: alarm {name} notifies the topic")
    listeners = of_type("AWS::ElasticLoadBalancingV2::Listener")
    test_port = next((v["Properties"]["Port"] for k, v in listeners.items() if k == "TestListener"), None)
    for rule in props("LoadBalancerSecurityGroup").get("SecurityGroupIngress", []):
        if str(rule.get("IpProtocol")) == "-1" or rule.get("FromPort", 0) <= (test_port or -1) <= rule.get("ToPort", 65535):
            check("CidrIp" not in rule, "infra: the test listener is not open to the internet")

    # --- hardening ------------------------------------------------------------------------------------
    for name, listener in listeners.items():
        if listener["Properties"].get("Protocol") == "HTTPS":
            check(str(listener["Properties"].get("SslPolicy", "")).startswith("ELBSecurityPolicy-TLS13-1-2"), f"infra: {name} allows only TLS 1.2 and 1.3")
    repo = props("Repository")
    check(repo.get("ImageTagMutability", "MUTABLE").startswith("IMMUTABLE"), "infra: image tags are immutable")
    excluded = [f["ImageTagMutabilityExclusionFilterValue"] for f in repo.get("ImageTagMutabilityExclusionFilters", [])]
    cache_tags = re.findall(r"ref=\$REPO_URI:(\w+)", commands["build"])
    check(set(cache_tags) <= set(excluded), "infra: the build cache tag is the one mutable tag")
    lifecycle = repo.get("LifecyclePolicy", {}).get("LifecyclePolicyText")
    check(lifecycle and json.loads(lifecycle).get("rules"), "infra: the repository has a lifecycle policy")
    for name, role in of_type("AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for st in as_list(policy["PolicyDocument"]["Statement"]):
                for branch in (st["Fn::If"][1:] if "Fn::If" in st else [st]):
                    actions = as_list(branch.get("Action"))
                    check(not any(a == "*" or a.endswith(":*") for a in actions), f"infra: {name} has a wildcard action {actions}")
                    if "*" in as_list(branch.get("Resource")):
                        check(set(actions) <= UNSCOPABLE, f"infra: {name} grants {sorted(set(actions) - UNSCOPABLE)} on every resource")
    commit = of_type("AWS::CodeCommit::Repository")
    check(commit and "UseCodeCommit" == next(iter(commit.values())).get("Condition"), "infra: a CodeCommit repository with SourceProvider CodeCommit")
    check("CodeCommitRepository" in names_in(props("Pipeline")), "infra: the pipeline's CodeCommit source is the stack's repository")
    pushes = [r for r in of_type("AWS::Events::Rule").values() if "aws.codecommit" in json.dumps(r["Properties"].get("EventPattern"))]
    check(pushes and "Pipeline" in names_in(pushes[0]["Properties"].get("Targets")) and "PollForSourceChanges: false" in texts[S],
          "infra: a push to the CodeCommit branch starts the pipeline (an EventBridge rule, no polling)")
    private = props("Service").get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {})
    check(private.get("AssignPublicIp") == "DISABLED" and private.get("Subnets") == {"Ref": "PrivateSubnetIds"}, "infra: tasks in the private subnets")

    # --- the smoke test's code --------------------------------------------------------------------------
    code = props("SmokeTestFunction").get("Code", {}).get("ZipFile", "")
    problems.extend(smoke_test(code))
    return problems


# ----- the smoke-test function, run here -----------------------------------------------------------
class _Site(http.server.BaseHTTPRequestHandler):
    broken = ()

    def do_GET(self):  # noqa: N802
        status = 503 if self.path in self.broken else 200
        body = b"<form method=post></form>" if self.path == "/" else b"ok"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _serve(broken):
    handler = type("Site", (_Site,), {"broken": broken})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


_SMOKE = {}


def smoke_test(code):
    """Memoized _smoke_test (the code rarely differs between the mutations)."""
    if code not in _SMOKE:
        _SMOKE[code] = _smoke_test(code)
    return _SMOKE[code]


def _smoke_test(code):
    """Runs the function's code with a stand-in boto3: it must pass a site that answers, fail
    one whose /readyz answers 503, and report each outcome to CodeDeploy."""
    if not code:
        return ["infra: the smoke-test function has no inline code"]
    problems = []
    reported = []
    fake = types.ModuleType("boto3")

    class Client:
        def __init__(self, service):
            self.service = service

        def describe_network_interfaces(self, Filters):  # noqa: N803
            # The load balancer's nodes carry the description "ELB app/<name>/<id>".
            wanted = [{"Name": "description", "Values": ["ELB " + os.environ.get("LOAD_BALANCER", "?")]}]
            return {"NetworkInterfaces": [{"PrivateIpAddress": "127.0.0.1"}] if Filters == wanted else []}

        def put_lifecycle_event_hook_execution_status(self, **kwargs):
            reported.append(kwargs)

    fake.client = Client
    real = sys.modules.get("boto3")
    sys.modules["boto3"] = fake
    try:
        module = types.ModuleType("smoke")
        exec(compile(code, "smoke-test", "exec"), module.__dict__)  # noqa: S102
    finally:
        sys.modules["boto3"] = real
    good, bad = _serve(()), _serve(("/readyz",))
    try:
        for server, want in ((good, "Succeeded"), (bad, "Failed")):
            base = f"http://127.0.0.1:{server.server_port}"
            failures = module.probe(base)
            if (want == "Succeeded") != (failures == []):
                problems.append(f"infra: the smoke test's probe of a site that {'answers' if want == 'Succeeded' else 'fails /readyz'} gave {failures}")
            # The handler, with the load balancer's address pointed at this server (http).
            module.probe, probe = (lambda b, _p=module.probe, _base=base: _p(_base)), module.probe
            os.environ.update(LOAD_BALANCER="app/stock-ticker/0", TEST_PORT="0")
            with contextlib.redirect_stdout(open(os.devnull, "w")):
                status = module.handler({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "h-1"}, None)
            module.probe = probe
            last = reported[-1] if reported else {}
            if status != want or last.get("status") != want or last.get("deploymentId") != "d-1" or last.get("lifecycleEventHookExecutionId") != "h-1":
                problems.append(f"infra: the smoke test reported {last} for a site that should give {want}")
    finally:
        good.shutdown()
        bad.shutdown()
    return problems


# ----- the database user task's script, on PostgreSQL --------------------------------------------------
def database_user(stack, url):
    """Runs the task's script twice as a master like RDS's (CREATEROLE and CREATEDB, owner of the
    database, no superuser), then the app's first migration as its user, then a rotation as the
    alternating-users function performs it with the master's credentials (a clone, member of the
    user), and a later migration and a write as the clone acting as the user (options[role]):
    the tables must keep one owner, so the next rotation back loses nothing."""
    task = stack["Resources"]["DatabaseUserTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    script = task["Command"]
    if script[:2] != ["sh", "-c"]:
        return ["infra: the database user task runs a shell script (sh -c)"]
    env_names = {e["Name"]: e["Value"] for e in task["Environment"] if isinstance(e["Value"], str)}
    psql = shutil.which("psql")
    if not psql:
        raise SystemExit("psql is missing: install the PostgreSQL client to check the database user task")
    parsed = re.match(r"postgres(?:ql)?://(?:([^@:/]+)@)?([^:/]+):?(\d*)/", url)
    if not parsed:
        raise SystemExit(f"TEST_DATABASE_URL is not postgres://[USER@]HOST[:PORT]/DB: {url}")
    superuser, host, port = parsed[1] or "postgres", parsed[2], parsed[3] or "5432"
    suffix = uuid.uuid4().hex[:8]
    db, master = f"st_check_{suffix}", f"st_check_master_{suffix}"
    user = env_names["APP_USER"] + "_" + suffix
    clone = user + "_clone"

    def run(sql, database, login, role=None):
        env = {**os.environ, "PGHOST": host, "PGPORT": port, "PGUSER": login, "PGDATABASE": database, "PGSSLMODE": "disable"}
        if role:
            env["PGOPTIONS"] = f"-c role={role}"
        return subprocess.run([psql, "-X", "-v", "ON_ERROR_STOP=1", "-Atc", sql], check=True,
                              capture_output=True, text=True, env=env).stdout.strip()

    run(f'CREATE ROLE "{master}" LOGIN CREATEROLE CREATEDB', "postgres", superuser)
    run(f'CREATE DATABASE "{db}" OWNER "{master}"', "postgres", superuser)
    try:
        run_env = {**os.environ, "PGHOST": host, "PGPORT": port, "PGUSER": master, "PGDATABASE": db,
                   "PGSSLMODE": "disable", "APP_USER": user, "APP_PASSWORD": "first-password"}
        outputs = []
        for _ in range(2):
            done = subprocess.run(script, env=run_env, capture_output=True, text=True)
            if done.returncode != 0:
                return [f"infra: the database user task's script failed as the master: {done.stderr.strip()}"]
            outputs.append(done.stdout)
        problems = []
        if "created the database user" not in outputs[0] or "exists" not in outputs[1]:
            problems.append(f"infra: the database user task creates once and then leaves the user be: {outputs}")
        flags = run(f"SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = '{user}'", db, superuser)
        if flags != "t|f|f|f":
            problems.append(f"infra: the app's database user may log in and nothing more (got {flags})")
        try:
            run("CREATE TABLE holdings (id int)", db, user)
            run(f"CREATE ROLE \"{clone}\" WITH LOGIN PASSWORD 'second'; GRANT \"{user}\" TO \"{clone}\"", db, master)
            run("CREATE TABLE prices (id int); INSERT INTO holdings VALUES (1)", db, clone, role=user)
        except subprocess.CalledProcessError as error:
            return problems + [f"infra: the app's user or its rotation clone cannot work: {error.stderr.strip()}"]
        owners = run("SELECT string_agg(tablename || ':' || tableowner, ',' ORDER BY tablename) "
                     "FROM pg_tables WHERE schemaname = 'public'", db, superuser)
        if owners != f"holdings:{user},prices:{user}":
            problems.append(f"infra: after a rotation the tables' owner changed: {owners}")
        return problems
    finally:
        run(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', "postgres", superuser)
        run(f'DROP ROLE IF EXISTS "{clone}"', "postgres", superuser)
        run(f'DROP ROLE IF EXISTS "{user}"', "postgres", superuser)
        run(f'DROP ROLE IF EXISTS "{master}"', "postgres", superuser)


# ----- defects that must be caught -----------------------------------------------------------------
def remove(pattern):
    return lambda text: re.sub(pattern, "", text, count=1, flags=re.M)


def swap(old, new):
    def change(text):
        assert old in text, f"mutation target {old!r} not found"
        return text.replace(old, new, 1)
    return change


T, B, A, D, S = "taskdef.json", "buildspec.yml", "appspec.yaml", "Dockerfile", "infra/stock-ticker.yaml"
MUTATIONS = [
    ("a secret's valueFrom is a bare name", T, swap('"valueFrom": "${SETUP_CODE_SECRET_ARN}"', '"valueFrom": "stock-ticker/setup-code"')),
    ("a run-time secret id is a name", T, swap('"${DATABASE_SECRET_ARN}"', '"stock-ticker/database"')),
    ("envsubst leaves a variable out", B, swap("${SETUP_CODE_SECRET_ARN} ", "")),
    ("CodeBuild lacks a variable", S, remove(r"^ +- \{Name: SETUP_CODE_SECRET_ARN, .*\n")),
    ("the execution role cannot read the setup code", S, swap("                Resource: !Ref SetupCodeSecret\n", "                Resource: !Ref IexTokenSecret\n")),
    ("no rotation schedule", S, swap("Type: AWS::SecretsManager::RotationSchedule", "Type: AWS::CloudFormation::WaitConditionHandle")),
    ("single-user rotation", S, swap("RotationType: PostgreSQLMultiUser", "RotationType: PostgreSQLSingleUser")),
    ("the database blocks the rotation function", S, remove(r"^.*SourceSecurityGroupId: !Ref RotationSecurityGroup.*\n")),
    ("no Secrets Manager endpoint", S, swap("Type: AWS::EC2::VPCEndpoint", "Type: AWS::CloudFormation::WaitConditionHandle")),
    ("a secret without DeletionPolicy Retain", S, swap("  IexTokenSecret:\n    Type: AWS::SecretsManager::Secret\n    DeletionPolicy: Retain\n", "  IexTokenSecret:\n    Type: AWS::SecretsManager::Secret\n")),
    ("the app connects as the master", S, swap('{"username": "stockticker"', '{"username": "stockadmin"')),
    ("the app does not act as its role", T, swap("&options[role]=stockticker", "")),
    ("the service is created before any image", S, swap("    Condition: HasService\n    DependsOn: [HttpsListener", "    DependsOn: [HttpsListener")),
    ("the first task definition takes IexBaseUrl", S, swap("            - {Name: SECRET_TOKEN_SECRET_ID, Value: !Ref IexTokenSecret}\n          Secrets:", "            - {Name: SECRET_TOKEN_SECRET_ID, Value: !Ref IexTokenSecret}\n            - {Name: IEX_BASE_URL, Value: !Ref IexBaseUrl}\n          Secrets:")),
    ("one task", S, swap("    MinValue: 2\n    Description: Fewest tasks", "    MinValue: 1\n    Description: Fewest tasks")),
    ("alarms watch the green target group only", S, remove(r"^ +- \{Name: !Ref Blue(UnhealthyHosts|Errors)Alarm\}\n")),
    ("no load balancer 5xx alarm", S, remove(r"^ +- \{Name: !Ref LoadBalancerErrorsAlarm\}\n")),
    ("an alarm notifies nobody", S, remove(r"^      AlarmActions: \[!Ref AlarmTopic\]\n")),
    ("all-at-once traffic", S, swap("CodeDeployDefault.ECSCanary10Percent5Minutes\n", "CodeDeployDefault.ECSAllAtOnce\n")),
    ("no smoke-test hook", A, remove(r"^Hooks:\n(  - .*\n)+")),
    ("a smoke test that looks for the wrong interfaces", S, swap('"Values": ["ELB " + os.environ["LOAD_BALANCER"]]', '"Values": [os.environ["LOAD_BALANCER"]]')),
    ("a smoke test that reports success whatever it saw", S, swap('status = "Failed" if failures else "Succeeded"', 'status = "Succeeded"')),
    ("the test listener open to the internet", S, swap("SourceSecurityGroupId: !Ref SmokeTestSecurityGroup, Description: smoke test", "CidrIp: 0.0.0.0/0, Description: smoke test")),
    ("tests may skip in the pipeline", B, remove(r'^    STOCK_TICKER_REQUIRE_ALL_TESTS: "1"\n')),
    ("no PostgreSQL in the pipeline", B, remove(r"^      - docker run -d --name postgres .*\n")),
    ("no moto in the pipeline", B, remove(r"^      - scripts/venv\n")),
    ("more tests left out of the pipeline", B, swap("cargo test --locked -- --skip browser::", "cargo test --locked --lib")),
    ("a command YAML reads as a map", B, swap("'cargo test --locked -- --skip browser::'", "cargo test --locked -- --skip browser::")),
    ("no build cache", B, remove(r"^    - /root/.cache/stock-ticker-target/\*\*/\*\n")),
    ("/metrics on the public port", T, remove(r'^ +\{"name": "METRICS_BIND", .*\n')),
    ("TLS 1.0 allowed", S, remove(r"^      SslPolicy: .*\n")),
    ("a base image from Docker Hub", D, swap("public.ecr.aws/docker/library/rust:", "rust:")),
    ("a BuildKit frontend from Docker Hub", D, lambda text: "# syntax=docker/dockerfile:1.7\n" + text),
    ("the BuildKit builder from Docker Hub", B, swap(" --driver-opt image=public.ecr.aws/vend/moby/buildkit:buildx-stable-1", "")),
    ("a base image by tag only", D, swap(":nonroot@sha256:9dac0a79194e45a7da0158a9c6da57b217585af0786db3845d1f0ec1a0dd182f", ":nonroot")),
    ("mutable image tags", S, swap("ImageTagMutability: IMMUTABLE_WITH_EXCLUSION", "ImageTagMutability: MUTABLE")),
    ("no lifecycle policy", S, remove(r"^      LifecyclePolicy:\n(        .*\n)+")),
    ("tags reused across builds", B, swap('-$CODEBUILD_BUILD_NUMBER"', '"')),
    ("codedeploy:* on everything", S, swap("Action: [codedeploy:CreateDeployment, codedeploy:GetDeployment]", 'Action: ["codedeploy:*"]')),
    ("no CodeCommit repository", S, swap("Type: AWS::CodeCommit::Repository", "Type: AWS::CloudFormation::WaitConditionHandle")),
    ("CodeCommit pushes start nothing", S, swap("source: [aws.codecommit]", "source: [aws.codebuild]")),
    ("Multi-AZ fixed", S, swap("MultiAZ: !Ref DatabaseMultiAz", "MultiAZ: false")),
    ("the app's secret without dbname", S, swap('"dbname": "stockticker", ', '')),
    ("rotation scheduled before the database user exists", S, swap("    Condition: HasService\n    DependsOn: [DatabaseSecretAttachment]", "    DependsOn: [DatabaseSecretAttachment]")),
    ("a wildcard in the connection's branch", S, swap("Action: [codestar-connections:UseConnection, codeconnections:UseConnection]", 'Action: ["codeconnections:*"]')),
]


def moto_server():
    venv_bin = os.path.dirname(sys.executable)
    binary = os.path.join(venv_bin, "moto_server")
    if not os.path.exists(binary):
        raise SystemExit("moto_server is missing from the venv (scripts/venv)")
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            break
        except Exception:
            time.sleep(0.1)
    return process, f"http://127.0.0.1:{port}"


def main():
    texts = {name: open(name).read() for name in FILES}
    stack = yaml.load(texts[S], Loader=StackLoader)
    process, endpoint = moto_server()
    try:
        deployed = deploy(stack, endpoint)
        print(f"AWS files: moto created the secrets and core resources ({', '.join(CORE)})")
        problems = rules(texts, deployed)
        url = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
        problems += database_user(stack, url)
        if problems:
            print("\n".join("AWS files: " + p for p in problems))
            sys.exit(1)
        print("AWS files: taskdef.json rendered as the build renders it is valid and registers in moto; every secret "
              "is a Secrets Manager ARN of the stack readable by its role; the delivery rules hold; the smoke test "
              "passes a working site and fails a broken one; the database user task and a rotation work on PostgreSQL")
        missed = []
        for name, path, change in MUTATIONS:
            copy = dict(texts)
            copy[path] = change(texts[path])
            found = rules(copy, deployed)
            if not found:
                missed.append(name)
            else:
                print(f"  caught: {name}: {found[0].splitlines()[0]}")
        if missed:
            print("AWS files: the checks miss these defects: " + "; ".join(missed))
            sys.exit(1)
        print(f"AWS files: each of {len(MUTATIONS)} known defects, put back, is caught")
    finally:
        process.terminate()


if __name__ == "__main__":
    main()
