//! A response body compressed ahead of time (brotli and gzip), answered in the encoding the
//! client prefers. Static files and cached pages are compressed once and served many times;
//! the compression layer compresses everything else as it goes, and leaves these alone (they
//! carry their `Content-Encoding`).

use std::io::Write;
use std::sync::OnceLock;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

/// A body and its compressed forms, each made the first time a client asks for it.
#[derive(Debug)]
pub struct Encoded {
    content_type: &'static str,
    effort: Effort,
    identity: Bytes,
    br: OnceLock<Bytes>,
    gzip: OnceLock<Bytes>,
}

/// How hard to compress: once per file for static files, once per render for pages.
#[derive(Debug, Clone, Copy)]
pub enum Effort {
    /// Brotli at its best (11) and gzip at 9: files compressed once for the server's life.
    Once,
    /// Brotli 5 and gzip 6: a page kept for seconds.
    Often,
}

/// The encodings this server sends, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Br,
    Gzip,
    Identity,
}

impl Encoded {
    pub fn new(content_type: &'static str, body: impl Into<Bytes>, effort: Effort) -> Self {
        Encoded {
            content_type,
            effort,
            identity: body.into(),
            br: OnceLock::new(),
            gzip: OnceLock::new(),
        }
    }

    /// The body in `encoding`, compressed now if no client asked for it before.
    pub fn body(&self, encoding: Encoding) -> Bytes {
        let (quality, level) = match self.effort {
            Effort::Once => (11, 9),
            Effort::Often => (5, 6),
        };
        match encoding {
            Encoding::Br => self
                .br
                .get_or_init(|| brotli(&self.identity, quality).into())
                .clone(),
            Encoding::Gzip => self
                .gzip
                .get_or_init(|| gzip(&self.identity, level).into())
                .clone(),
            Encoding::Identity => self.identity.clone(),
        }
    }

    /// Makes every compressed form now (for files served for the server's whole life).
    pub fn compress_all(&self) {
        self.body(Encoding::Br);
        self.body(Encoding::Gzip);
    }

    /// The uncompressed body's size.
    pub fn uncompressed_len(&self) -> usize {
        self.identity.len()
    }

    /// A 200 in the encoding the request's `Accept-Encoding` prefers.
    pub fn respond(&self, request: &HeaderMap) -> Response {
        let encoding = negotiate(request);
        let coding = match encoding {
            Encoding::Br => Some("br"),
            Encoding::Gzip => Some("gzip"),
            Encoding::Identity => None,
        };
        let body = self.body(encoding);
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if let Some(coding) = coding {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
        }
        response
    }
}

fn brotli(data: &[u8], quality: i32) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 4);
    let params = brotli::enc::BrotliEncoderParams {
        quality,
        ..Default::default()
    };
    let mut input = data;
    // Writing to memory cannot fail; an error would leave the body empty, never wrong.
    if brotli::BrotliCompress(&mut input, &mut out, &params).is_err() {
        out.clear();
    }
    out
}

fn gzip(data: &[u8], level: u32) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 3),
        flate2::Compression::new(level),
    );
    // As above: writing to memory cannot fail.
    encoder
        .write_all(data)
        .and_then(|()| encoder.finish())
        .unwrap_or_default()
}

/// The encoding to answer in: brotli, else gzip, when the client accepts it (a `q=0` refuses;
/// `*` accepts whatever is not named), else none.
pub fn negotiate(request: &HeaderMap) -> Encoding {
    let mut br = None;
    let mut gzip = None;
    let mut any = None;
    for value in request.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else {
            continue;
        };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let accepted = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .filter_map(|q| q.trim().parse::<f32>().ok())
                .next_back()
                .is_none_or(|q| q > 0.0);
            match name.as_str() {
                "br" => br = Some(accepted),
                "gzip" | "x-gzip" => gzip = Some(accepted),
                "*" => any = Some(accepted),
                _ => {}
            }
        }
    }
    let any = any.unwrap_or(false);
    if br.unwrap_or(any) {
        Encoding::Br
    } else if gzip.unwrap_or(any) {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn accepting(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn the_best_encoding_the_client_accepts_is_chosen() {
        assert_eq!(
            negotiate(&accepting("gzip, deflate, br, zstd")),
            Encoding::Br
        );
        assert_eq!(negotiate(&accepting("gzip, deflate")), Encoding::Gzip);
        assert_eq!(negotiate(&accepting("br;q=0, gzip;q=0.5")), Encoding::Gzip);
        assert_eq!(negotiate(&accepting("identity")), Encoding::Identity);
        assert_eq!(negotiate(&accepting("*")), Encoding::Br);
        assert_eq!(negotiate(&accepting("*, br;q=0")), Encoding::Gzip);
        assert_eq!(negotiate(&HeaderMap::new()), Encoding::Identity);
    }

    #[test]
    fn each_form_decodes_to_the_body() {
        let body = "<tr><td>AAPL</td><td>189.84</td></tr>\n".repeat(200);
        let page = Encoded::new("text/html; charset=utf-8", body.clone(), Effort::Often);
        let (br, gzip) = (page.body(Encoding::Br), page.body(Encoding::Gzip));
        let mut from_gzip = String::new();
        flate2::read::GzDecoder::new(&gzip[..])
            .read_to_string(&mut from_gzip)
            .unwrap();
        assert_eq!(from_gzip, body);
        let mut from_br = String::new();
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_string(&mut from_br)
            .unwrap();
        assert_eq!(from_br, body);
        let (br, gzip) = (br.len(), gzip.len());
        assert!(
            br < page.uncompressed_len() / 10 && gzip < page.uncompressed_len() / 10,
            "{br} {gzip} of {}",
            page.uncompressed_len()
        );
    }
}
