//! Verification of AWS Signature Version 4 `Authorization` headers.
//!
//! The `aws-sigv4` crate only signs: it picks its own set of headers to sign, so it cannot
//! reproduce a signature over the header set a client chose. This module therefore rebuilds
//! the canonical request from the received request itself, following the SigV4 rules that
//! the AWS SDKs use for services other than S3:
//!
//! - the path is encoded a second time (both aws-sdk-rust and botocore percent-encode the
//!   already-encoded path, so `/tags/arn%3Aaws...` is signed as `/tags/arn%253Aaws...`),
//! - query parameters are decoded, re-encoded with the RFC 3986 unreserved set and sorted,
//! - header values are trimmed with inner runs of spaces collapsed, and repeated headers are
//!   joined with commas.

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};

use super::error::ApiError;

type HmacSha256 = Hmac<Sha256>;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The largest accepted difference between the request time and the server clock.
const MAX_CLOCK_SKEW_MINUTES: i64 = 15;
/// Everything except the RFC 3986 unreserved characters `A-Za-z0-9-_.~`.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// [`UNRESERVED`], but keeping `/` so path segments stay separate.
const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

/// The set of access keys the verifier accepts.
#[derive(Debug, Clone)]
pub enum KeyPolicy {
    /// Only these access key ids, with their secret keys.
    Keys(HashMap<String, String>),
    /// Any access key. The Authorization header must still be well formed and its scope and
    /// date valid, but the key is not looked up and the signature is not checked.
    AcceptAny,
}

/// The request data a signature covers.
#[derive(Debug)]
pub struct SignedRequest<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Path exactly as received, still percent-encoded.
    pub raw_path: &'a str,
    /// Query string exactly as received, without the `?`.
    pub raw_query: Option<&'a str>,
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// Request body.
    pub body: &'a [u8],
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Debug, PartialEq, Eq)]
struct Authorization<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    terminator: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn incomplete(message: impl Into<String>) -> ApiError {
    ApiError::Auth {
        name: "IncompleteSignatureException",
        status: StatusCode::BAD_REQUEST,
        message: message.into(),
    }
}

fn invalid_signature(message: impl Into<String>) -> ApiError {
    ApiError::auth("InvalidSignatureException", message)
}

fn parse_authorization(header: &str) -> Result<Authorization<'_>, ApiError> {
    let Some(rest) = header.strip_prefix(ALGORITHM) else {
        return Err(incomplete(format!(
            "Unsupported authorization type; only {ALGORITHM} is accepted"
        )));
    };
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for component in rest.split(',') {
        let component = component.trim();
        if let Some(value) = component.strip_prefix("Credential=") {
            credential = Some(value);
        } else if let Some(value) = component.strip_prefix("SignedHeaders=") {
            signed_headers = Some(value);
        } else if let Some(value) = component.strip_prefix("Signature=") {
            signature = Some(value);
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(incomplete(
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' \
             parameters",
        ));
    };
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, terminator] = parts.as_slice() else {
        return Err(incomplete(format!(
            "Credential '{credential}' must have the form \
             ACCESS_KEY/YYYYMMDD/REGION/SERVICE/aws4_request"
        )));
    };
    Ok(Authorization {
        access_key,
        date,
        region,
        service,
        terminator,
        signed_headers,
        signature,
    })
}

/// Encodes the received path for the canonical request.
pub fn canonical_path(raw_path: &str) -> String {
    if raw_path.is_empty() {
        return "/".to_string();
    }
    utf8_percent_encode(raw_path, PATH).to_string()
}

/// Builds the canonical query string: pairs decoded like `application/x-www-form-urlencoded`,
/// re-encoded with the unreserved set, and sorted by key and then value.
pub fn canonical_query(raw_query: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = raw_query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (encode_query_part(key), encode_query_part(value))
        })
        .collect();
    pairs.sort();
    let joined: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    joined.join("&")
}

fn encode_query_part(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    let decoded = percent_decode_str(&spaced).decode_utf8_lossy();
    utf8_percent_encode(&decoded, UNRESERVED).to_string()
}

/// Builds the canonical header block (one `name:value\n` line per signed header).
fn canonical_headers(headers: &HeaderMap, signed_headers: &str) -> Result<String, ApiError> {
    let mut block = String::new();
    for name in signed_headers.split(';') {
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .map(|value| {
                let text = String::from_utf8_lossy(value.as_bytes());
                text.split_whitespace().collect::<Vec<&str>>().join(" ")
            })
            .collect();
        if values.is_empty() {
            return Err(invalid_signature(format!(
                "The signed header '{name}' is missing from the request"
            )));
        }
        block.push_str(name);
        block.push(':');
        block.push_str(&values.join(","));
        block.push('\n');
    }
    Ok(block)
}

/// Builds the canonical request for `request` with the client's signed header list.
pub fn canonical_request(
    request: &SignedRequest<'_>,
    signed_headers: &str,
    payload_hash: &str,
) -> Result<String, ApiError> {
    Ok(format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        request.method,
        canonical_path(request.raw_path),
        canonical_query(request.raw_query),
        canonical_headers(request.headers, signed_headers)?,
        signed_headers,
        payload_hash
    ))
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    // `Hmac::new_from_slice` accepts keys of any length, so the error branch is unreachable.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return Vec::new(),
    };
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Derives the signing key for one day, region and service.
fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let key = hmac(format!("AWS4{secret}").as_bytes(), date);
    let key = hmac(&key, region);
    let key = hmac(&key, service);
    hmac(&key, "aws4_request")
}

/// Verifies the request's SigV4 signature for `region` and `service`, at time `now`.
pub fn verify(
    request: &SignedRequest<'_>,
    policy: &KeyPolicy,
    region: &str,
    service: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let Some(header) = request.headers.get("authorization") else {
        if request
            .raw_query
            .is_some_and(|query| query.contains("X-Amz-Signature="))
        {
            return Err(incomplete(
                "Presigned URLs are not supported; sign the headers",
            ));
        }
        return Err(ApiError::auth(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    };
    let header = header
        .to_str()
        .map_err(|_| incomplete("The Authorization header is not valid ASCII"))?;
    let auth = parse_authorization(header)?;

    let amz_date = request
        .headers
        .get("x-amz-date")
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| incomplete("The request must carry an X-Amz-Date header"))?;
    let signed_at = NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| {
            incomplete(format!(
                "X-Amz-Date '{amz_date}' is not in YYYYMMDDTHHMMSSZ form"
            ))
        })?
        .and_utc();
    if !auth.signed_headers.split(';').any(|name| name == "host") {
        return Err(incomplete("'Host' must be a signed header"));
    }
    if Some(auth.date) != amz_date.get(..8) {
        return Err(invalid_signature(format!(
            "Date in Credential scope does not match YYYYMMDD from X-Amz-Date '{amz_date}'"
        )));
    }
    if auth.region != region {
        return Err(invalid_signature(format!(
            "Credential should be scoped to a valid region: '{region}', not '{}'",
            auth.region
        )));
    }
    if auth.service != service {
        return Err(invalid_signature(format!(
            "Credential should be scoped to correct service: '{service}'"
        )));
    }
    if auth.terminator != "aws4_request" {
        return Err(invalid_signature(
            "Credential should be scoped with a valid terminator: 'aws4_request'",
        ));
    }
    let skew = TimeDelta::minutes(MAX_CLOCK_SKEW_MINUTES);
    if signed_at < now - skew {
        return Err(invalid_signature(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 15 min.)",
            (now - skew).format("%Y%m%dT%H%M%SZ"),
            now.format("%Y%m%dT%H%M%SZ")
        )));
    }
    if signed_at > now + skew {
        return Err(invalid_signature(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 15 min.)",
            (now + skew).format("%Y%m%dT%H%M%SZ"),
            now.format("%Y%m%dT%H%M%SZ")
        )));
    }

    let secret = match policy {
        KeyPolicy::AcceptAny => return Ok(()),
        KeyPolicy::Keys(keys) => keys.get(auth.access_key).ok_or_else(|| {
            ApiError::auth(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        })?,
    };

    let payload_hash = hex::encode(Sha256::digest(request.body));
    if let Some(declared) = request.headers.get("x-amz-content-sha256")
        && declared.as_bytes() != payload_hash.as_bytes()
    {
        return Err(invalid_signature(
            "The provided 'x-amz-content-sha256' header does not match the request body",
        ));
    }
    let canonical = canonical_request(request, auth.signed_headers, &payload_hash)?;
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{}/{}/{}/aws4_request\n{}",
        auth.date,
        auth.region,
        auth.service,
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(secret, auth.date, auth.region, auth.service);
    let provided = hex::decode(auth.signature).unwrap_or_default();
    let mut mac = HmacSha256::new_from_slice(&key)
        .map_err(|_| ApiError::Internal("failed to derive the signing key".to_string()))?;
    mac.update(string_to_sign.as_bytes());
    // `verify_slice` compares in constant time.
    mac.verify_slice(&provided).map_err(|_| {
        tracing::debug!(access_key = auth.access_key, "signature mismatch");
        invalid_signature(
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method.",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    /// Builds the headers of the `get-vanilla-query-order-key-case` case of the AWS SigV4
    /// test suite.
    fn vanilla_headers(signature: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("example.amazonaws.com"));
        headers.insert("x-amz-date", HeaderValue::from_static("20150830T123600Z"));
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature={signature}"
        );
        headers.insert(
            "authorization",
            HeaderValue::from_str(&authorization).expect("ASCII header"),
        );
        headers
    }

    fn vanilla_time() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2015-08-30T12:36:00Z")
            .expect("valid time")
            .with_timezone(&Utc)
    }

    fn keys() -> KeyPolicy {
        KeyPolicy::Keys(HashMap::from([(
            "AKIDEXAMPLE".to_string(),
            SECRET.to_string(),
        )]))
    }

    fn verify_vanilla(
        headers: &HeaderMap,
        policy: &KeyPolicy,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let request = SignedRequest {
            method: "GET",
            raw_path: "/",
            raw_query: Some("Param2=value2&Param1=value1"),
            headers,
            body: b"",
        };
        verify(&request, policy, "us-east-1", "service", now)
    }

    const VANILLA_SIGNATURE: &str =
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500";

    #[test]
    fn test_suite_signature_verifies() {
        let headers = vanilla_headers(VANILLA_SIGNATURE);
        assert!(verify_vanilla(&headers, &keys(), vanilla_time()).is_ok());
    }

    #[test]
    fn altered_signature_is_rejected() {
        let headers = vanilla_headers(&VANILLA_SIGNATURE.replace('b', "c"));
        let error = verify_vanilla(&headers, &keys(), vanilla_time()).expect_err("must fail");
        assert_eq!(error.name(), "InvalidSignatureException");
    }

    #[test]
    fn unknown_key_is_unrecognized() {
        let headers = vanilla_headers(VANILLA_SIGNATURE);
        let policy = KeyPolicy::Keys(HashMap::from([("OTHER".to_string(), SECRET.to_string())]));
        let error = verify_vanilla(&headers, &policy, vanilla_time()).expect_err("must fail");
        assert_eq!(error.name(), "UnrecognizedClientException");
    }

    #[test]
    fn accept_any_skips_signature_check() {
        let headers = vanilla_headers("00");
        assert!(verify_vanilla(&headers, &KeyPolicy::AcceptAny, vanilla_time()).is_ok());
    }

    #[test]
    fn old_signature_is_expired() {
        let headers = vanilla_headers(VANILLA_SIGNATURE);
        let later = vanilla_time() + TimeDelta::minutes(16);
        let error = verify_vanilla(&headers, &keys(), later).expect_err("must fail");
        assert_eq!(error.name(), "InvalidSignatureException");
        assert!(error.to_string().contains("Signature expired"));
    }

    #[test]
    fn missing_authorization_is_reported() {
        let headers = HeaderMap::new();
        let error = verify_vanilla(&headers, &keys(), vanilla_time()).expect_err("must fail");
        assert_eq!(error.name(), "MissingAuthenticationTokenException");
    }

    #[test]
    fn path_is_encoded_twice() {
        assert_eq!(
            canonical_path("/tags/arn%3Aaws%3Aivschat%3Aus-east-1%3A1%3Aroom%2Fabc"),
            "/tags/arn%253Aaws%253Aivschat%253Aus-east-1%253A1%253Aroom%252Fabc"
        );
        assert_eq!(canonical_path(""), "/");
        assert_eq!(canonical_path("/CreateRoom"), "/CreateRoom");
    }

    #[test]
    fn query_is_sorted_and_reencoded() {
        assert_eq!(
            canonical_query(Some("tagKeys=b&tagKeys=a%20b&tagKeys=a")),
            "tagKeys=a&tagKeys=a%20b&tagKeys=b"
        );
        assert_eq!(canonical_query(Some("k=a:b&flag")), "flag=&k=a%3Ab");
        assert_eq!(canonical_query(None), "");
    }

    #[test]
    fn header_values_are_trimmed_and_joined() {
        let mut headers = HeaderMap::new();
        headers.append("x-a", HeaderValue::from_static("  one   two "));
        headers.append("x-a", HeaderValue::from_static("three"));
        headers.insert("host", HeaderValue::from_static("h"));
        assert_eq!(
            canonical_headers(&headers, "host;x-a").ok(),
            Some("host:h\nx-a:one two,three\n".to_string())
        );
    }
}
