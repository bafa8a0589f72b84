//! The one outbound HTTP client: every call to an identity provider, a payment gateway or a partner
//! goes through [`Outbound`], which carries the SSRF guard.
//!
//! - **Scheme.** https only, except on a local stack (`STAGE=local`), where plain http is allowed
//!   too (the provider sandboxes listen on `http://127.0.0.1:…`).
//! - **One lookup, every address checked, connect to exactly those.** The client's resolver (a
//!   [`reqwest::dns::Resolve`]) looks the host up once through a [`Resolver`] (the system resolver
//!   by default, a test resolver in tests), refuses the whole answer if any address falls in a
//!   refused class, and hands the connector exactly the addresses it checked: nothing looks the
//!   name up again between the check and the connection, so a name whose answer changes (DNS
//!   rebinding) cannot slip an internal address in. A host that is an IP literal never reaches a
//!   resolver, so the URL's host is checked before the request is sent.
//! - **Refused classes** (IPv4 and IPv6 alike): unspecified (`0.0.0.0/8`, `::`), loopback
//!   (`127/8`, `::1`), private (`10/8`, `172.16/12`, `192.168/16`, `fc00::/7`, `fec0::/10`),
//!   link-local (`169.254/16`, `fe80::/10`), the metadata addresses `169.254.169.254` and
//!   `fd00:ec2::254`, CGNAT `100.64/10`, broadcast, multicast, reserved (`240/4`, `192.0.0/24`).
//!   An IPv6 address that carries an IPv4 one (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
//!   `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) is checked as that IPv4 address.
//!   A local stack allows loopback and refuses everything else on the list.
//! - **No redirects, no proxies.** A 3xx is an answer ([`Error::Status`]); `HTTP_PROXY`,
//!   `HTTPS_PROXY`, `ALL_PROXY` are ignored.
//! - **Bounded.** Connect and total timeouts, and a cap on the answer's size.
//!
//! Errors say what happened and to which origin (`https://host:port`), never the path, the query,
//! the credentials or the answer's content.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use reqwest::{StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::platform::config::Config;

/// How long establishing a connection may take (the TCP connect, per address).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a whole call may take, answer included.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read; a larger one is [`Error::TooLarge`].
pub const MAX_BODY: usize = 1024 * 1024;

/// The instance metadata service (EC2, ECS, Lambda's neighbours) over IPv4 and over IPv6.
pub const METADATA_V4: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 254);
pub const METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);

/// Where the gateway may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Every deployed stage: https only, every refused class refused.
    Production,
    /// The local stack: http allowed and loopback allowed (the provider sandboxes); every other
    /// refused class still refused.
    Local,
}

impl Policy {
    /// The policy of a stage: `local` is the local stack, anything else is production.
    pub fn for_stage(stage: &str) -> Self {
        if stage == "local" { Self::Local } else { Self::Production }
    }

    pub fn for_config(config: &Config) -> Self {
        Self::for_stage(&config.stage)
    }

    fn allows_scheme(self, scheme: &str) -> bool {
        match self {
            Self::Production => scheme == "https",
            Self::Local => matches!(scheme, "http" | "https"),
        }
    }
}

/// Why a call was refused before any connection was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The URL does not parse.
    NotAUrl,
    /// Not https (or, on a local stack, not http(s)).
    Scheme,
    /// The URL has no host.
    NoHost,
    Unspecified,
    Loopback,
    Private,
    LinkLocal,
    /// The instance metadata service.
    Metadata,
    /// Carrier-grade NAT, `100.64.0.0/10`.
    SharedAddressSpace,
    Broadcast,
    Multicast,
    Reserved,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAUrl => "not a URL",
            Self::Scheme => "the scheme is not allowed here",
            Self::NoHost => "the URL has no host",
            Self::Unspecified => "an unspecified address",
            Self::Loopback => "a loopback address",
            Self::Private => "a private address",
            Self::LinkLocal => "a link-local address",
            Self::Metadata => "the instance metadata address",
            Self::SharedAddressSpace => "a carrier-grade NAT address",
            Self::Broadcast => "a broadcast address",
            Self::Multicast => "a multicast address",
            Self::Reserved => "a reserved address",
        })
    }
}

/// A refusal: the reason, and the address that caused it (when an address did).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub reason: Reason,
    pub address: Option<IpAddr>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.address {
            Some(ip) => write!(f, "{ip} is {}", self.reason),
            None => write!(f, "{}", self.reason),
        }
    }
}

impl std::error::Error for Refusal {}

/// The error classes of an outbound call. `target` is the origin (`scheme://host:port`) only.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Refused by the guard before any connection.
    #[error("refused to call {target}: {refusal}")]
    Refused { target: String, refusal: Refusal },
    /// The host name did not resolve (or resolved to nothing).
    #[error("could not resolve {target}")]
    Resolve { target: String },
    /// No connection (refused, unreachable, TLS handshake failed).
    #[error("could not connect to {target}")]
    Connect {
        target: String,
        #[source]
        source: reqwest::Error,
    },
    /// The connection or the whole call took too long.
    #[error("{target} did not answer in time")]
    Timeout { target: String },
    /// An answer that is not 2xx (a redirect included: redirects are not followed). `body` is the
    /// answer as text (at most [`MAX_BODY`] bytes), for a caller that reads a provider's error; it
    /// is not part of the message.
    #[error("{target} answered {status}")]
    Status { target: String, status: StatusCode, body: String },
    /// The answer could not be read, or is not what the caller expected.
    #[error("the answer of {target} is unreadable: {detail}")]
    Body { target: String, detail: String },
    /// The answer is larger than the client reads.
    #[error("the answer of {target} is larger than {limit} bytes")]
    TooLarge { target: String, limit: usize },
    /// The request could not be built (a header value, a body that does not serialize).
    #[error("the request to {target} is malformed: {detail}")]
    Invalid { target: String, detail: String },
    /// Anything else the HTTP stack reports.
    #[error("the call to {target} failed")]
    Request {
        target: String,
        #[source]
        source: reqwest::Error,
    },
    /// The client could not be built (TLS setup).
    #[error("the outbound client could not be built: {0}")]
    Setup(String),
}

impl Error {
    /// The refusal, when the guard refused the call.
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            Self::Refused { refusal, .. } => Some(*refusal),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The address rules (pure)

/// Why `ip` may not be called under `policy`, or `None` when it may.
pub fn refusal(ip: IpAddr, policy: Policy) -> Option<Reason> {
    let reason = match ip {
        IpAddr::V4(v4) => v4_class(v4),
        IpAddr::V6(v6) => v6_class(v6),
    }?;
    match (reason, policy) {
        (Reason::Loopback, Policy::Local) => None,
        _ => Some(reason),
    }
}

/// The refused class of an IPv4 address, if it is in one.
fn v4_class(ip: Ipv4Addr) -> Option<Reason> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip == METADATA_V4 => Reason::Metadata,
        _ if ip.is_broadcast() => Reason::Broadcast,
        (0, _, _) => Reason::Unspecified,
        (127, _, _) => Reason::Loopback,
        (10, _, _) | (192, 168, _) => Reason::Private,
        (172, b, _) if b & 0xf0 == 16 => Reason::Private,
        (169, 254, _) => Reason::LinkLocal,
        (100, b, _) if b & 0xc0 == 64 => Reason::SharedAddressSpace,
        (224..=239, _, _) => Reason::Multicast,
        (240..=255, _, _) | (192, 0, 0) => Reason::Reserved,
        _ => return None,
    })
}

/// The refused class of an IPv6 address, if it is in one; an embedded IPv4 address is checked as
/// that IPv4 address.
fn v6_class(ip: Ipv6Addr) -> Option<Reason> {
    if ip == METADATA_V6 {
        return Some(Reason::Metadata);
    }
    if ip.is_unspecified() {
        return Some(Reason::Unspecified);
    }
    if ip.is_loopback() {
        return Some(Reason::Loopback);
    }
    if let Some(v4) = embedded_v4(ip) {
        return v4_class(v4);
    }
    let s = ip.segments();
    Some(match s[0] {
        x if x & 0xfe00 == 0xfc00 => Reason::Private, // unique local fc00::/7
        x if x & 0xffc0 == 0xfec0 => Reason::Private, // site-local fec0::/10 (deprecated)
        x if x & 0xffc0 == 0xfe80 => Reason::LinkLocal, // fe80::/10
        x if x & 0xff00 == 0xff00 => Reason::Multicast, // ff00::/8
        0x0064 if s[1] == 0xff9b && s[2] == 1 => Reason::Private, // local-use NAT64 64:ff9b:1::/48
        _ => return None,
    })
}

/// The IPv4 address an IPv6 address carries: IPv4-mapped `::ffff:0:0/96`, IPv4-translated
/// `::ffff:0:0:0/96`, IPv4-compatible `::/96`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, hi, lo]
        | [0, 0, 0, 0, 0xffff, 0, hi, lo]
        | [0, 0, 0, 0, 0, 0, hi, lo]
        | [0x0064, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        [0x2002, hi, lo, ..] => Some(low(hi, lo)),
        _ => None,
    }
}

/// Every address of an answer, checked: all of them, or the refusal of the first refused one.
fn check_all(addresses: &[IpAddr], policy: Policy) -> Result<(), Refusal> {
    match addresses.iter().find_map(|ip| refusal(*ip, policy).map(|r| (r, *ip))) {
        Some((reason, ip)) => Err(Refusal { reason, address: Some(ip) }),
        None => Ok(()),
    }
}

/// The checks on a URL before sending: the scheme, a host, and the host itself when it is an IP
/// literal (the connector does not resolve those, so the resolver's check never sees them).
fn check_url(url: &Url, policy: Policy) -> Result<(), Refusal> {
    let refused = |reason| Refusal { reason, address: None };
    if !policy.allows_scheme(url.scheme()) {
        return Err(refused(Reason::Scheme));
    }
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| refused(Reason::NoHost))?;
    let literal = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    match literal.parse::<IpAddr>() {
        Ok(ip) => check_all(&[ip], policy),
        Err(_) => Ok(()),
    }
}

/// The origin of a URL, for messages: no credentials, path, query or fragment.
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

// ---------------------------------------------------------------------------------------------
// Resolution

/// Looks a host name up: the one lookup of a call. The system resolver by default; tests inject
/// their own.
pub trait Resolver: Send + Sync + 'static {
    fn lookup(&self, host: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>>;
}

/// The system resolver (`getaddrinfo` through `tokio::net::lookup_host`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn lookup(&self, host: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
        let host = host.to_owned();
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

/// A lookup that failed or found nothing (the cause stays out of messages).
#[derive(Debug)]
struct Unresolved;

impl fmt::Display for Unresolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the name did not resolve")
    }
}

impl std::error::Error for Unresolved {}

/// The resolver reqwest is given: one lookup, every address checked, exactly the checked
/// addresses handed to the connector.
struct Guard {
    resolver: Arc<dyn Resolver>,
    policy: Policy,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(guarded_lookup(Arc::clone(&self.resolver), self.policy, name.as_str().to_owned()))
    }
}

/// The one lookup of a call: every address checked, exactly those handed on.
async fn guarded_lookup(
    resolver: Arc<dyn Resolver>,
    policy: Policy,
    host: String,
) -> Result<reqwest::dns::Addrs, BoxError> {
    let addresses = resolver.lookup(&host).await.map_err(|e| {
        tracing::debug!(error = %e, "an outbound lookup failed");
        Unresolved
    })?;
    if addresses.is_empty() {
        return Err(Unresolved.into());
    }
    check_all(&addresses, policy)?;
    // Port 0: the connector puts the URL's port (or the scheme's) in.
    Ok(Box::new(addresses.into_iter().map(|ip| SocketAddr::new(ip, 0))))
}

/// The first error of type `T` in `e`'s source chain.
fn find_in_chain<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        next = err.source();
    }
    None
}

/// A reqwest error as one of the classes above (the URL stripped from it).
fn classify(target: &str, e: reqwest::Error) -> Error {
    let target = target.to_owned();
    if let Some(refusal) = find_in_chain::<Refusal>(&e) {
        return Error::Refused { target, refusal: *refusal };
    }
    if find_in_chain::<Unresolved>(&e).is_some() {
        return Error::Resolve { target };
    }
    let source = e.without_url();
    // A connection never made (refused, unreachable, TLS, or timed out while connecting) is a
    // connect error before it is a timeout: nothing of the request was sent.
    if source.is_connect() {
        Error::Connect { target, source }
    } else if source.is_timeout() {
        Error::Timeout { target }
    } else if source.is_builder() {
        Error::Invalid { target, detail: "the request cannot be built".into() }
    } else if source.is_body() || source.is_decode() {
        Error::Body { target, detail: "the answer broke off".into() }
    } else {
        Error::Request { target, source }
    }
}

// ---------------------------------------------------------------------------------------------
// The client

/// The outbound HTTP client (cheap to clone: the connection pool is shared).
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    policy: Policy,
    max_body: usize,
}

impl fmt::Debug for Outbound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbound").field("policy", &self.policy).finish_non_exhaustive()
    }
}

/// TLS as everywhere in the gateway: rustls over aws-lc, the Mozilla roots.
fn tls() -> Result<rustls::ClientConfig, Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Setup(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Builds an [`Outbound`]: the policy, and optionally the resolver, the timeouts and the size cap.
pub struct Builder {
    policy: Policy,
    resolver: Arc<dyn Resolver>,
    connect_timeout: Duration,
    timeout: Duration,
    max_body: usize,
}

impl Builder {
    pub fn resolver(mut self, resolver: impl Resolver) -> Self {
        self.resolver = Arc::new(resolver);
        self
    }

    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    pub fn build(self) -> Result<Outbound, Error> {
        let setup = |e: &dyn fmt::Display| Error::Setup(e.to_string());
        let guard = Guard { resolver: self.resolver, policy: self.policy };
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls()?)
            .dns_resolver(Arc::new(guard))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .build()
            .map_err(|e| setup(&e))?;
        Ok(Outbound { client, policy: self.policy, max_body: self.max_body })
    }
}

impl Outbound {
    /// A builder with the system resolver and the default timeouts and size cap.
    pub fn builder(policy: Policy) -> Builder {
        Builder {
            policy,
            resolver: Arc::new(SystemResolver),
            connect_timeout: CONNECT_TIMEOUT,
            timeout: TIMEOUT,
            max_body: MAX_BODY,
        }
    }

    /// A client with the defaults.
    pub fn new(policy: Policy) -> Result<Self, Error> {
        Self::builder(policy).build()
    }

    /// The instance's client for `policy` (built once, shared by every caller).
    pub fn shared(policy: Policy) -> Result<&'static Self, Error> {
        static PRODUCTION: OnceLock<Outbound> = OnceLock::new();
        static LOCAL: OnceLock<Outbound> = OnceLock::new();
        let cell = match policy {
            Policy::Production => &PRODUCTION,
            Policy::Local => &LOCAL,
        };
        if let Some(client) = cell.get() {
            return Ok(client);
        }
        let client = Self::new(policy)?;
        Ok(cell.get_or_init(|| client))
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// A call with `method` to `url`; the URL is checked here, the host's addresses when it is
    /// resolved.
    pub fn request(&self, method: reqwest::Method, url: &str) -> Call {
        let parsed = match Url::parse(url) {
            Ok(u) => u,
            Err(_) => {
                let refusal = Refusal { reason: Reason::NotAUrl, address: None };
                return Call::failed(Error::Refused { target: "(not a URL)".into(), refusal }, self.max_body);
            }
        };
        let target = origin(&parsed);
        if let Err(refusal) = check_url(&parsed, self.policy) {
            return Call::failed(Error::Refused { target, refusal }, self.max_body);
        }
        Call { request: Ok(self.client.request(method, parsed)), target, max_body: self.max_body }
    }

    pub fn get(&self, url: &str) -> Call {
        self.request(reqwest::Method::GET, url)
    }

    pub fn post(&self, url: &str) -> Call {
        self.request(reqwest::Method::POST, url)
    }

    /// GET `url` with `headers`; a 2xx JSON answer as `T`.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<T, Error> {
        self.get(url).headers(headers).header("accept", "application/json").send().await?.json()
    }

    /// POST `form` form-encoded to `url` with `headers`; the 2xx answer (read it with
    /// [`Answer::json`] or [`Answer::text`]).
    pub async fn post_form<F: Serialize + ?Sized>(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        form: &F,
    ) -> Result<Answer, Error> {
        self.post(url).headers(headers).form(form).send().await
    }

    /// POST `body` as JSON to `url` with `headers`; a 2xx JSON answer as `T`.
    pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &B,
    ) -> Result<T, Error> {
        self.post(url).headers(headers).header("accept", "application/json").json(body).send().await?.json()
    }
}

/// One call being put together. Errors (a refused URL, a bad header) wait for [`Call::send`].
#[must_use = "a call does nothing until it is sent"]
pub struct Call {
    request: Result<reqwest::RequestBuilder, Error>,
    target: String,
    max_body: usize,
}

impl Call {
    fn failed(e: Error, max_body: usize) -> Self {
        let target = match &e {
            Error::Refused { target, .. } => target.clone(),
            _ => String::new(),
        };
        Self { request: Err(e), target, max_body }
    }

    fn map(
        mut self,
        f: impl FnOnce(reqwest::RequestBuilder, &str) -> Result<reqwest::RequestBuilder, Error>,
    ) -> Self {
        self.request = self.request.and_then(|r| f(r, &self.target));
        self
    }

    /// A header; its value is marked sensitive (kept out of debug output).
    pub fn header(self, name: &str, value: &str) -> Self {
        self.map(|r, target| {
            let invalid =
                |what: &str| Error::Invalid { target: target.to_owned(), detail: format!("a header {what}") };
            let name = HeaderName::try_from(name).map_err(|_| invalid("name is invalid"))?;
            let mut value = HeaderValue::try_from(value).map_err(|_| invalid("value is invalid"))?;
            value.set_sensitive(true);
            Ok(r.header(name, value))
        })
    }

    pub fn headers(self, headers: &[(&str, &str)]) -> Self {
        headers.iter().fold(self, |call, (name, value)| call.header(name, value))
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header(AUTHORIZATION.as_str(), &format!("Bearer {token}"))
    }

    /// `Authorization: Basic …` (client credentials at a token endpoint).
    pub fn basic(self, user: &str, password: &str) -> Self {
        self.map(|r, _| Ok(r.basic_auth(user, Some(password))))
    }

    /// A form-encoded body.
    pub fn form<F: Serialize + ?Sized>(self, form: &F) -> Self {
        self.map(|r, _| Ok(r.form(form)))
    }

    /// A JSON body.
    pub fn json<B: Serialize + ?Sized>(self, body: &B) -> Self {
        self.map(|r, _| Ok(r.json(body)))
    }

    /// A body already serialized as JSON, sent byte for byte (a provider that reads its fields in
    /// order).
    pub fn raw_json(self, body: String) -> Self {
        self.map(|r, _| Ok(r.header(reqwest::header::CONTENT_TYPE, "application/json").body(body)))
    }

    /// Sends the call and reads the answer; anything but 2xx is [`Error::Status`].
    pub async fn send(self) -> Result<Answer, Error> {
        let response = self.request?.send().await.map_err(|e| classify(&self.target, e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_body(response, &self.target, self.max_body).await?;
        if !status.is_success() {
            let body = String::from_utf8_lossy(&body).into_owned();
            return Err(Error::Status { target: self.target, status, body });
        }
        Ok(Answer { target: self.target, status, headers, body })
    }
}

/// The answer's body, at most `limit` bytes.
async fn read_body(mut response: reqwest::Response, target: &str, limit: usize) -> Result<Vec<u8>, Error> {
    let too_large = || Error::TooLarge { target: target.to_owned(), limit };
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| classify(target, e))? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A 2xx answer, read whole.
#[derive(Debug)]
pub struct Answer {
    target: String,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON. The error names the position, never the content.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Body {
            target: self.target.clone(),
            detail: format!(
                "not the expected JSON ({:?} error at line {} column {})",
                e.classify(),
                e.line(),
                e.column()
            ),
        })
    }

    /// The body as UTF-8 text (a form-encoded answer, for one).
    pub fn text(&self) -> Result<String, Error> {
        String::from_utf8(self.body.clone())
            .map_err(|_| Error::Body { target: self.target.clone(), detail: "not UTF-8 text".into() })
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    use serde_json::{Value, json};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A public address no test can reach (TEST-NET-3): passes the guard, and the connection to it
    /// fails or times out without touching a real host.
    const PUBLIC: &str = "203.0.113.7";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    // --- the address rules -------------------------------------------------------------------

    #[test]
    fn every_refused_class_is_refused() {
        use Reason::*;
        let table: &[(&str, Reason)] = &[
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("::", Unspecified),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("::1", Loopback),
            ("10.0.0.1", Private),
            ("10.255.255.255", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.0.1", Private),
            ("fc00::1", Private),
            ("fd12:3456::1", Private),
            ("fec0::1", Private),
            ("64:ff9b:1::a", Private),
            ("169.254.0.1", LinkLocal),
            ("169.254.170.2", LinkLocal), // the ECS task metadata endpoint
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("169.254.169.254", Metadata),
            ("fd00:ec2::254", Metadata),
            ("100.64.0.1", SharedAddressSpace),
            ("100.100.100.200", SharedAddressSpace),
            ("100.127.255.255", SharedAddressSpace),
            ("255.255.255.255", Broadcast),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("ff02::1", Multicast),
            ("240.0.0.1", Reserved),
            ("192.0.0.192", Reserved),
            // IPv6 carrying an IPv4 address: checked as that address.
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:0.0.0.0", Unspecified),
            ("::ffff:10.1.2.3", Private),
            ("::ffff:169.254.169.254", Metadata),
            ("::ffff:100.64.0.1", SharedAddressSpace),
            ("::ffff:0:192.168.1.1", Private), // IPv4-translated
            ("::127.0.0.1", Loopback),         // IPv4-compatible
            ("::169.254.169.254", Metadata),
            ("64:ff9b::127.0.0.1", Loopback), // NAT64
            ("64:ff9b::a9fe:a9fe", Metadata),
            ("64:ff9b::10.0.0.1", Private),
            ("2002:7f00:1::", Loopback), // 6to4
            ("2002:a9fe:a9fe::1", Metadata),
        ];
        for (address, reason) in table {
            assert_eq!(refusal(ip(address), Policy::Production), Some(*reason), "{address} in production");
            let local = if *reason == Loopback { None } else { Some(*reason) };
            assert_eq!(refusal(ip(address), Policy::Local), local, "{address} on a local stack");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for address in [
            "8.8.8.8",
            "1.1.1.1",
            PUBLIC,
            "9.255.255.255",
            "11.0.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.167.255.255",
            "192.169.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "fb00::1",
            "fe00::1",
        ] {
            assert_eq!(refusal(ip(address), Policy::Production), None, "{address} in production");
            assert_eq!(refusal(ip(address), Policy::Local), None, "{address} on a local stack");
        }
    }

    #[test]
    fn the_policy_follows_the_stage() {
        assert_eq!(Policy::for_stage("local"), Policy::Local);
        for stage in ["dev", "staging", "prod", "Local", ""] {
            assert_eq!(Policy::for_stage(stage), Policy::Production, "{stage:?}");
        }
    }

    #[test]
    fn an_answer_is_refused_whole_when_one_address_is_refused() {
        let answer = [ip(PUBLIC), ip("2606:4700:4700::1111"), ip("10.0.0.7")];
        assert_eq!(
            check_all(&answer, Policy::Production),
            Err(Refusal { reason: Reason::Private, address: Some(ip("10.0.0.7")) })
        );
        assert_eq!(check_all(&answer[..2], Policy::Production), Ok(()));
    }

    // --- harness: a local listener and a scripted resolver ------------------------------------

    /// A listener on 127.0.0.1 that counts connections, keeps what it read, and answers each with
    /// `answer` (or holds the connection without answering when `answer` is `None`).
    struct Listener {
        port: u16,
        accepts: Arc<AtomicUsize>,
        requests: Arc<Mutex<Vec<String>>>,
    }

    impl Listener {
        async fn start(answer: Option<String>) -> Self {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let accepts = Arc::new(AtomicUsize::new(0));
            let requests = Arc::new(Mutex::new(Vec::new()));
            let (counter, seen) = (Arc::clone(&accepts), Arc::clone(&requests));
            tokio::spawn(async move {
                while let Ok((mut socket, _)) = listener.accept().await {
                    counter.fetch_add(1, SeqCst);
                    let (seen, answer) = (Arc::clone(&seen), answer.clone());
                    tokio::spawn(async move {
                        let request = read_request(&mut socket).await;
                        seen.lock().unwrap().push(request);
                        match answer {
                            Some(a) => {
                                let _ = socket.write_all(a.as_bytes()).await;
                                let _ = socket.shutdown().await;
                            }
                            None => tokio::time::sleep(Duration::from_secs(30)).await,
                        }
                    });
                }
            });
            Self { port, accepts, requests }
        }

        fn accepts(&self) -> usize {
            self.accepts.load(SeqCst)
        }

        fn request(&self, i: usize) -> String {
            self.requests.lock().unwrap()[i].clone()
        }
    }

    fn answer(status: &str, content_type: &str, body: &str) -> Option<String> {
        Some(format!(
            "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ))
    }

    fn json_ok(body: &str) -> Option<String> {
        answer("200 OK", "application/json", body)
    }

    /// The request head and its `content-length` body.
    async fn read_request(socket: &mut tokio::net::TcpStream) -> String {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + length {
                    break;
                }
            }
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// A resolver that answers its n-th lookup with the n-th answer (the last one once they run
    /// out) and counts lookups.
    #[derive(Clone)]
    struct Scripted {
        answers: Arc<Vec<Vec<IpAddr>>>,
        lookups: Arc<AtomicUsize>,
    }

    impl Scripted {
        fn new(answers: &[&[&str]]) -> Self {
            let answers = answers.iter().map(|a| a.iter().map(|s| ip(s)).collect()).collect();
            Self { answers: Arc::new(answers), lookups: Arc::new(AtomicUsize::new(0)) }
        }

        fn lookups(&self) -> usize {
            self.lookups.load(SeqCst)
        }
    }

    impl Resolver for Scripted {
        fn lookup(&self, _host: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
            let n = self.lookups.fetch_add(1, SeqCst);
            let answer = self.answers.get(n).or(self.answers.last()).cloned().unwrap_or_default();
            Box::pin(async move { Ok(answer) })
        }
    }

    fn client(policy: Policy, resolver: &Scripted) -> Outbound {
        Outbound::builder(policy)
            .resolver(resolver.clone())
            .connect_timeout(Duration::from_millis(300))
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap()
    }

    fn refused(e: &Error) -> Reason {
        e.refusal().unwrap_or_else(|| panic!("expected a refusal, got {e:?}")).reason
    }

    // --- the client ---------------------------------------------------------------------------

    #[tokio::test]
    async fn a_name_whose_answer_changes_is_looked_up_once_per_call_and_never_reaches_a_local_address() {
        for order in [[PUBLIC, "127.0.0.1"], ["127.0.0.1", PUBLIC]] {
            let local = Listener::start(json_ok("{}")).await;
            let resolver = Scripted::new(&[&[order[0]], &[order[1]]]);
            let outbound = client(Policy::Production, &resolver);
            let url = format!("https://rebinding.example:{}/", local.port);
            for (call, address) in order.iter().enumerate() {
                let e = outbound.get(&url).send().await.unwrap_err();
                assert_eq!(resolver.lookups(), call + 1, "{order:?}: one lookup per call");
                if *address == PUBLIC {
                    // Passed the check; the connection went to exactly that (unreachable) address.
                    assert!(matches!(e, Error::Connect { .. } | Error::Timeout { .. }), "{order:?}: {e:?}");
                } else {
                    assert_eq!(
                        e.refusal(),
                        Some(Refusal { reason: Reason::Loopback, address: Some(ip("127.0.0.1")) }),
                        "{order:?}"
                    );
                }
            }
            assert_eq!(local.accepts(), 0, "{order:?}: nothing reached the local listener");
        }
    }

    #[tokio::test]
    async fn every_address_of_an_answer_is_checked_before_connecting() {
        let local = Listener::start(json_ok("{}")).await;
        // Production: a public address first does not let the loopback one through.
        let resolver = Scripted::new(&[&[PUBLIC, "127.0.0.1"]]);
        let e = client(Policy::Production, &resolver)
            .get(&format!("https://mixed.example:{}/", local.port))
            .send()
            .await
            .unwrap_err();
        assert_eq!(refused(&e), Reason::Loopback);
        // A local stack would connect to 127.0.0.1, but the answer also names the metadata address.
        let resolver = Scripted::new(&[&["127.0.0.1", "169.254.169.254"]]);
        let e = client(Policy::Local, &resolver)
            .get(&format!("http://mixed.example:{}/", local.port))
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            e.refusal(),
            Some(Refusal { reason: Reason::Metadata, address: Some(ip("169.254.169.254")) })
        );
        // And an empty answer is a failed resolution, not an empty connection attempt.
        let resolver = Scripted::new(&[&[]]);
        let e = client(Policy::Local, &resolver).get("http://nothing.example/").send().await.unwrap_err();
        assert!(matches!(e, Error::Resolve { .. }), "{e:?}");
        assert_eq!(local.accepts(), 0);
    }

    #[tokio::test]
    async fn ip_literal_hosts_are_checked_without_a_lookup() {
        let local = Listener::start(json_ok("{}")).await;
        let p = local.port;
        let resolver = Scripted::new(&[&[PUBLIC]]);
        let cases: Vec<(Policy, String, Reason)> = vec![
            (Policy::Production, format!("https://127.0.0.1:{p}/"), Reason::Loopback),
            (Policy::Production, format!("https://[::1]:{p}/"), Reason::Loopback),
            (Policy::Production, format!("https://[::ffff:127.0.0.1]:{p}/"), Reason::Loopback),
            (Policy::Production, format!("https://2130706433:{p}/"), Reason::Loopback), // 127.0.0.1 as one number
            (Policy::Production, format!("https://0x7f.1:{p}/"), Reason::Loopback),
            (Policy::Production, "https://169.254.169.254/latest/meta-data/".into(), Reason::Metadata),
            (Policy::Production, "https://[fd00:ec2::254]/latest/meta-data/".into(), Reason::Metadata),
            (Policy::Production, "https://10.0.0.1/".into(), Reason::Private),
            (Policy::Production, "https://100.64.0.1/".into(), Reason::SharedAddressSpace),
            (Policy::Local, "http://169.254.169.254/latest/meta-data/".into(), Reason::Metadata),
            (Policy::Local, "http://[::ffff:a9fe:a9fe]/".into(), Reason::Metadata),
            (Policy::Local, "http://[64:ff9b::a9fe:a9fe]/".into(), Reason::Metadata),
            (Policy::Local, format!("http://0.0.0.0:{p}/"), Reason::Unspecified), // reaches local listeners on Linux
            (Policy::Local, format!("http://[::]:{p}/"), Reason::Unspecified),
            (Policy::Local, "http://192.168.1.1/".into(), Reason::Private),
            (Policy::Local, "http://[fe80::1]/".into(), Reason::LinkLocal),
        ];
        for (policy, url, reason) in cases {
            let e = client(policy, &resolver).get(&url).send().await.unwrap_err();
            assert_eq!(refused(&e), reason, "{url} ({policy:?})");
        }
        assert_eq!(resolver.lookups(), 0, "an IP literal is never looked up");
        assert_eq!(local.accepts(), 0);
    }

    #[tokio::test]
    async fn production_calls_are_https_only_and_urls_must_be_urls() {
        let resolver = Scripted::new(&[&[PUBLIC]]);
        let production = client(Policy::Production, &resolver);
        let local = client(Policy::Local, &resolver);
        for (outbound, url, reason) in [
            (&production, "http://api.example/", Reason::Scheme),
            (&production, "ftp://api.example/", Reason::Scheme),
            (&local, "ftp://api.example/", Reason::Scheme),
            (&local, "file:///etc/passwd", Reason::Scheme),
            (&production, "not a url", Reason::NotAUrl),
            (&production, "https://", Reason::NotAUrl),
        ] {
            let e = outbound.get(url).send().await.unwrap_err();
            assert_eq!(refused(&e), reason, "{url}");
        }
        assert_eq!(resolver.lookups(), 0, "refused before any lookup");
    }

    #[tokio::test]
    async fn a_local_stack_calls_loopback_at_exactly_the_resolved_address() {
        let local = Listener::start(json_ok(r#"{"issuer":"http://provider.test"}"#)).await;
        let resolver = Scripted::new(&[&["127.0.0.1"]]);
        let outbound = client(Policy::Local, &resolver);
        let url = format!("http://provider.test:{}/.well-known/openid-configuration", local.port);
        let got: Value = outbound.get_json(&url, &[("x-request-id", "r-1")]).await.unwrap();
        assert_eq!(got, json!({"issuer": "http://provider.test"}));
        assert_eq!((resolver.lookups(), local.accepts()), (1, 1));
        let request = local.request(0).to_ascii_lowercase();
        assert!(request.starts_with("get /.well-known/openid-configuration http/1.1\r\n"), "{request}");
        assert!(request.contains(&format!("host: provider.test:{}\r\n", local.port)), "{request}");
        assert!(request.contains("x-request-id: r-1\r\n"), "{request}");
        assert!(request.contains("accept: application/json\r\n"), "{request}");
    }

    #[tokio::test]
    async fn form_and_json_posts_carry_their_bodies() {
        let nmi = Listener::start(answer("200 OK", "text/html", "response=1&responsetext=SUCCESS")).await;
        let outbound = client(Policy::Local, &Scripted::new(&[&["127.0.0.1"]]));
        let form = [("security_key", "k"), ("type", "sale"), ("amount", "10.00"), ("orderid", "A 1")];
        let url = format!("http://127.0.0.1:{}/api/transact.php", nmi.port);
        let got = outbound.post_form(&url, &[], &form).await.unwrap();
        assert_eq!(got.text().unwrap(), "response=1&responsetext=SUCCESS");
        let request = nmi.request(0);
        assert!(request.to_ascii_lowercase().contains("content-type: application/x-www-form-urlencoded\r\n"));
        assert!(request.ends_with("\r\n\r\nsecurity_key=k&type=sale&amount=10.00&orderid=A+1"), "{request}");

        let anet = Listener::start(json_ok(r#"{"messages":{"resultCode":"Ok"}}"#)).await;
        let url = format!("http://127.0.0.1:{}/xml/v1/request.api", anet.port);
        let body = json!({"createTransactionRequest": {"refId": "1"}});
        let got: Value = outbound.post_json(&url, &[], &body).await.unwrap();
        assert_eq!(got["messages"]["resultCode"], "Ok");
        let request = anet.request(0);
        assert!(request.to_ascii_lowercase().contains("content-type: application/json\r\n"));
        assert!(request.ends_with(r#"{"createTransactionRequest":{"refId":"1"}}"#), "{request}");
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed() {
        let elsewhere = Listener::start(json_ok("{}")).await;
        let location = format!(
            "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{}/\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            elsewhere.port
        );
        let redirecting = Listener::start(Some(location)).await;
        let outbound = client(Policy::Local, &Scripted::new(&[&["127.0.0.1"]]));
        let e = outbound.get(&format!("http://127.0.0.1:{}/", redirecting.port)).send().await.unwrap_err();
        assert!(matches!(e, Error::Status { status: StatusCode::FOUND, .. }), "{e:?}");
        assert_eq!((redirecting.accepts(), elsewhere.accepts()), (1, 0));
    }

    #[tokio::test]
    async fn errors_name_the_origin_only_and_keep_the_answer_for_the_caller() {
        let token =
            Listener::start(answer("400 Bad Request", "application/json", r#"{"error":"invalid_grant"}"#))
                .await;
        let outbound = client(Policy::Local, &Scripted::new(&[&["127.0.0.1"]]));
        let url = format!("http://client:hunter2@127.0.0.1:{}/oauth/token?code=s3cret#frag", token.port);
        let e = outbound.post(&url).form(&[("code", "s3cret")]).send().await.unwrap_err();
        let message = e.to_string();
        assert_eq!(message, format!("http://127.0.0.1:{} answered 400 Bad Request", token.port));
        let Error::Status { body, .. } = e else { panic!("{e:?}") };
        assert_eq!(body, r#"{"error":"invalid_grant"}"#);

        let bad = Listener::start(json_ok(r#"{"access_token": 42}"#)).await;
        let url = format!("http://127.0.0.1:{}/token?code=s3cret", bad.port);
        #[derive(Debug, serde::Deserialize)]
        struct Token {
            #[allow(dead_code)]
            access_token: String,
        }
        let e = outbound.get_json::<Token>(&url, &[]).await.unwrap_err();
        assert!(matches!(e, Error::Body { .. }), "{e:?}");
        // The origin is named (its port may contain "42"); nothing else of the request or answer.
        let message = e.to_string().replace(&format!("http://127.0.0.1:{}", bad.port), "<origin>");
        for secret in ["s3cret", "42", "token"] {
            assert!(!message.contains(secret), "{message}");
        }
    }

    #[tokio::test]
    async fn slow_and_oversized_answers_are_bounded() {
        let silent = Listener::start(None).await;
        let outbound = client(Policy::Local, &Scripted::new(&[&["127.0.0.1"]]));
        let quick = Outbound::builder(Policy::Local).timeout(Duration::from_millis(300)).build().unwrap();
        let e = quick.get(&format!("http://127.0.0.1:{}/", silent.port)).send().await.unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }), "{e:?}");

        let large = Listener::start(json_ok(&"x".repeat(64))).await;
        let small = Outbound::builder(Policy::Local).max_body(16).build().unwrap();
        let e = small.get(&format!("http://127.0.0.1:{}/", large.port)).send().await.unwrap_err();
        assert!(matches!(e, Error::TooLarge { limit: 16, .. }), "{e:?}");
        assert!(outbound.get(&format!("http://127.0.0.1:{}/", large.port)).send().await.is_ok());
    }

    /// Set in the child process [`proxy_variables_are_ignored`] starts.
    const PROXY_CHILD: &str = "GATEWAY_OUTBOUND_PROXY_TEST_CHILD";

    /// The proxy variables point at a listener of this process; a child process (this test binary
    /// again, so no other test sees the variables) calls a local listener through the outbound
    /// client (which must go direct) and through a default reqwest client (which must use the
    /// proxy: the control that shows the variables are in effect).
    #[test]
    fn proxy_variables_are_ignored() {
        if std::env::var_os(PROXY_CHILD).is_some() {
            return proxied_child();
        }
        let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
        let proxied = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&proxied);
        std::thread::spawn(move || {
            for mut stream in proxy.incoming().flatten() {
                counter.fetch_add(1, SeqCst);
                let _ = stream.read(&mut [0u8; 4096]);
                let _ = stream.write_all(
                    b"HTTP/1.1 418 I'm a teapot\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        let mut child = std::process::Command::new(std::env::current_exe().unwrap());
        child.args(["platform::outbound::tests::proxy_variables_are_ignored", "--exact", "--nocapture"]);
        child.env(PROXY_CHILD, "1");
        for var in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
            child.env(var, &proxy_url);
        }
        for var in ["NO_PROXY", "no_proxy", "REQUEST_METHOD"] {
            child.env_remove(var);
        }
        let out = child.output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && stdout.contains("1 passed"), "the child failed:\n{stdout}\n{stderr}");
        assert_eq!(proxied.load(SeqCst), 1, "only the control call went through the proxy");
    }

    fn proxied_child() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let target = Listener::start(json_ok(r#"{"via":"direct"}"#)).await;
            let url = format!("http://127.0.0.1:{}/", target.port);
            let got: Value = Outbound::new(Policy::Local).unwrap().get_json(&url, &[]).await.unwrap();
            assert_eq!((got, target.accepts()), (json!({"via": "direct"}), 1));
            let control = reqwest::Client::builder().use_preconfigured_tls(tls().unwrap()).build().unwrap();
            let answer = control.get(&url).send().await.unwrap();
            assert_eq!((answer.status(), target.accepts()), (StatusCode::IM_A_TEAPOT, 1));
        });
    }
}
