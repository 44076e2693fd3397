//! Test harness for end-to-end tests: a namespace on the control plane that `make test`
//! starts, a local IVS Chat service and an operator process of their own.
//!
//! Each test gets its own namespace, emulator and operator (watching only that namespace),
//! so tests run in parallel without seeing each other. A missing control plane fails the
//! test: nothing here skips.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use aws_sdk_ivschat::config::{BehaviorVersion, Credentials, Region};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const ACCESS_KEY_ID: &str = "AKIAE2ETESTKEY000000";
pub const SECRET_ACCESS_KEY: &str = "e2e-secret-access-key-for-local-tests";
pub const REGION: &str = "us-east-1";

/// Path of a file in the repository.
pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A running local IVS Chat service.
pub struct Emulator {
    pub endpoint: String,
    pub admin: String,
    child: Child,
}

impl Emulator {
    /// Starts the emulator on free loopback ports, logging to `log`.
    pub async fn start(log: &Path, extra_args: &[&str]) -> Emulator {
        let credentials = format!("{ACCESS_KEY_ID}:{SECRET_ACCESS_KEY}");
        let mut args = vec![
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--credentials",
            &credentials,
        ];
        args.extend_from_slice(extra_args);
        let mut child = Command::new(env!("CARGO_BIN_EXE_ivschat-operator"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(log_file(log))
            .kill_on_drop(true)
            .spawn()
            .expect("the emulator starts");
        let stdout = child.stdout.take().expect("emulator stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let mut endpoint = None;
        let mut admin = None;
        let read = async {
            while let Some(line) = lines
                .next_line()
                .await
                .expect("emulator stdout is readable")
            {
                if let Some(url) = line.strip_prefix("listening on ") {
                    endpoint = Some(url.to_string());
                } else if let Some(url) = line.strip_prefix("admin listening on ") {
                    admin = Some(url.to_string());
                }
                if endpoint.is_some() && admin.is_some() {
                    break;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(30), read)
            .await
            .expect("the emulator announces its addresses");
        Emulator {
            endpoint: endpoint.expect("the emulator printed its endpoint"),
            admin: admin.expect("the emulator printed its admin endpoint"),
            child,
        }
    }

    /// Returns an SDK client signed with the test credentials.
    pub fn client(&self) -> aws_sdk_ivschat::Client {
        let config = aws_sdk_ivschat::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new(
                ACCESS_KEY_ID,
                SECRET_ACCESS_KEY,
                None,
                None,
                "e2e",
            ))
            .build();
        aws_sdk_ivschat::Client::from_conf(config)
    }

    /// Deletes a room behind the operator's back.
    pub async fn delete_room(&self, arn: &str) {
        self.client()
            .delete_room()
            .identifier(arn)
            .send()
            .await
            .expect("out-of-band delete");
    }

    /// Installs a fault for `operation` through the admin surface, for example
    /// `{"dropResponse": true, "times": 1}`.
    pub async fn inject_fault(&self, operation: &str, fault: serde_json::Value) {
        let url = format!("{}/faults/{operation}", self.admin);
        http_request("PUT", &url, &fault.to_string()).await;
    }

    /// Number of requests the emulator received for `operation`, rejected ones included.
    pub async fn calls(&self, operation: &str) -> u64 {
        let body = http_get(&format!("{}/calls", self.admin)).await;
        let counts: serde_json::Value = serde_json::from_str(&body).expect("call counts are JSON");
        counts.get(operation).and_then(|v| v.as_u64()).unwrap_or(0)
    }
}

/// Sends an HTTP request to a loopback URL and returns the body; fails the test on a
/// non-2xx status.
pub async fn http(method: &str, url: &str, body: &str) -> String {
    http_request(method, url, body).await
}

/// Returns a free loopback port; another process may take it before it is used, which the
/// tests accept for the ports of the operator's HTTP endpoints.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

/// Minimal HTTP/1.1 request over loopback, enough for the emulator's admin endpoint; the
/// tests avoid an HTTP client dependency for these few plain calls.
async fn http_request(method: &str, url: &str, body: &str) -> String {
    let (head, body) = try_http_request(method, url, body)
        .await
        .unwrap_or_else(|error| panic!("{method} {url} failed: {error}"));
    assert!(
        head.starts_with("HTTP/1.1 2"),
        "request {method} {url} failed: {head}\n{body}"
    );
    body
}

/// Sends a request and returns the response head and body, or why there is none.
async fn try_http_request(method: &str, url: &str, body: &str) -> Result<(String, String), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url} is not plain HTTP"))?;
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let mut stream = tokio::net::TcpStream::connect(host)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .map_err(|e| format!("read: {e}"))?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or("response has no body")?;
    Ok((head.to_string(), body.to_string()))
}

/// GET on a loopback URL whose server may not be up yet: `None` unless it returns 2xx.
pub async fn try_http_get(url: &str) -> Option<String> {
    let (head, body) = try_http_request("GET", url, "").await.ok()?;
    head.starts_with("HTTP/1.1 2").then_some(body)
}

async fn http_get(url: &str) -> String {
    http_request("GET", url, "").await
}

fn log_file(path: &Path) -> Stdio {
    std::fs::create_dir_all(path.parent().expect("log path has a parent"))
        .expect("log directory exists");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("log file is writable");
    Stdio::from(file)
}

/// One test's world: a namespace, an emulator and an operator watching that namespace.
pub struct TestEnv {
    pub client: Client,
    pub namespace: String,
    pub emulator: Emulator,
    pub kubeconfig: String,
    operator: Option<Child>,
    logs: PathBuf,
}

impl TestEnv {
    /// Sets up the namespace, the CRDs, the emulator and the operator for test `name`.
    pub async fn start(name: &str) -> TestEnv {
        let kubeconfig = std::env::var("KUBECONFIG").expect(
            "KUBECONFIG is not set: run the tests with `make test`, which starts a local control plane",
        );
        let client = Client::try_default()
            .await
            .expect("the kubeconfig gives a working client");
        let suffix: String = std::iter::repeat_with(random_char).take(5).collect();
        let namespace = format!("{name}-{suffix}");
        let logs = repo_path("target/e2e-logs").join(&namespace);

        install_crds().await;
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let mut ns = Namespace::default();
        ns.meta_mut().name = Some(namespace.clone());
        namespaces
            .create(&PostParams::default(), &ns)
            .await
            .expect("the test namespace is created");

        let emulator = Emulator::start(&logs.join("emulator.log"), &[]).await;
        let mut env = TestEnv {
            client,
            namespace,
            emulator,
            kubeconfig,
            operator: None,
            logs,
        };
        env.start_operator().await;
        env
    }

    /// Starts (or restarts) the operator process for this namespace.
    pub async fn start_operator(&mut self) {
        self.stop_operator().await;
        let child = self.spawn_operator("operator", &[]);
        self.operator = Some(child);
    }

    /// Starts another operator process for this namespace with `extra_args`, logging to
    /// `<log_name>.log`; the caller owns the process, which dies with its handle. The resync
    /// period is 5 seconds and the poll interval 1 second unless `extra_args` sets
    /// `--resync-seconds` or `--poll-seconds`.
    pub fn spawn_operator(&self, log_name: &str, extra_args: &[&str]) -> Child {
        self.operator_command(log_name, extra_args)
            .spawn()
            .expect("the operator starts")
    }

    /// Starts another operator process like [`TestEnv::spawn_operator`], but with
    /// `KUBECONFIG` set to `kubeconfig`, so it talks to the API server with that file's
    /// credentials instead of the test's.
    pub fn spawn_operator_with_kubeconfig(
        &self,
        log_name: &str,
        kubeconfig: &Path,
        extra_args: &[&str],
    ) -> Child {
        self.operator_command(log_name, extra_args)
            .env("KUBECONFIG", kubeconfig)
            .spawn()
            .expect("the operator starts")
    }

    fn operator_command(&self, log_name: &str, extra_args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ivschat-operator"));
        command
            .args([
                "controller",
                "--ivs-endpoint-url",
                &self.emulator.endpoint,
                "--region",
                REGION,
                "--watch-namespace",
                &self.namespace,
            ])
            .args(if extra_args.contains(&"--resync-seconds") {
                &[][..]
            } else {
                &["--resync-seconds", "5"][..]
            })
            .args(if extra_args.contains(&"--poll-seconds") {
                &[][..]
            } else {
                &["--poll-seconds", "1"][..]
            })
            .args(extra_args)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("RUST_LOG", "info,ivschat_operator=debug")
            .env("POD_NAME", log_name)
            .stdout(Stdio::null())
            .stderr(log_file(&self.logs.join(format!("{log_name}.log"))))
            .kill_on_drop(true);
        command
    }

    /// Makes `child` this test's operator, stopped with the test or by `stop_operator`.
    pub fn adopt_operator(&mut self, child: Child) {
        self.operator = Some(child);
    }

    /// Kills the operator process with SIGKILL, as a crash would.
    pub async fn kill_operator(&mut self) {
        self.stop_operator().await;
    }

    /// Stops the operator process.
    pub async fn stop_operator(&mut self) {
        if let Some(mut child) = self.operator.take() {
            let _ = child.kill().await;
        }
    }

    /// Namespaced API for kind `K`.
    pub fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// Runs `kubectl` in this namespace and returns (success, stdout, stderr).
    pub async fn kubectl(&self, args: &[&str]) -> (bool, String, String) {
        let output = Command::new("kubectl")
            .args(args)
            .args(["--namespace", &self.namespace])
            .output()
            .await
            .expect("kubectl runs (the built kubectl must be on PATH)");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// Applies a manifest with kubectl and fails the test if kubectl rejects it.
    pub async fn apply(&self, path: &Path) {
        let (ok, _, stderr) = self
            .kubectl(&["apply", "-f", path.to_str().expect("UTF-8 path")])
            .await;
        assert!(ok, "kubectl apply -f {} failed: {stderr}", path.display());
    }

    /// Applies manifest text given inline, returning kubectl's success and stderr.
    pub async fn apply_text(&self, manifest: &str) -> (bool, String) {
        let path = self.logs.join(format!("manifest-{}.yaml", random_suffix()));
        std::fs::create_dir_all(&self.logs).expect("log directory exists");
        std::fs::write(&path, manifest).expect("manifest is written");
        let (ok, _, stderr) = self
            .kubectl(&["apply", "-f", path.to_str().expect("UTF-8 path")])
            .await;
        (ok, stderr)
    }

    /// Polls object `name` until `done` holds, failing after `timeout`.
    pub async fn wait_for<K, F>(&self, name: &str, timeout: Duration, what: &str, done: F) -> K
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
        F: Fn(&K) -> bool,
    {
        let api = self.api::<K>();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let current = api.get_opt(name).await.expect("the object can be read");
            if let Some(obj) = current.as_ref().filter(|obj| done(obj)) {
                return obj.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out after {timeout:?} waiting for {name} to be {what}; last seen: {current:#?}; logs in {}",
                self.logs.display()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits until object `name` is gone from Kubernetes.
    pub async fn wait_gone<K>(&self, name: &str, timeout: Duration)
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        let api = self.api::<K>();
        let deadline = tokio::time::Instant::now() + timeout;
        while api
            .get_opt(name)
            .await
            .expect("the object can be read")
            .is_some()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out after {timeout:?} waiting for {name} to be deleted; logs in {}",
                self.logs.display()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// Applies the checked-in CRDs and waits until the API server serves them.
async fn install_crds() {
    let crds = repo_path("crds");
    let apply = Command::new("kubectl")
        .args(["apply", "--server-side", "--force-conflicts", "-f"])
        .arg(&crds)
        .output()
        .await
        .expect("kubectl runs (the built kubectl must be on PATH)");
    assert!(
        apply.status.success(),
        "installing the CRDs failed: {}",
        String::from_utf8_lossy(&apply.stderr)
    );
    let wait = Command::new("kubectl")
        .args([
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/chatrooms.ivschat.operators.dev",
            "crd/chatloggingconfigurations.ivschat.operators.dev",
        ])
        .output()
        .await
        .expect("kubectl runs");
    assert!(
        wait.status.success(),
        "the CRDs never became Established: {}",
        String::from_utf8_lossy(&wait.stderr)
    );
}

fn random_char() -> char {
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    alphabet[rand::random_range(0..alphabet.len())] as char
}

fn random_suffix() -> String {
    std::iter::repeat_with(random_char).take(8).collect()
}

/// Reports whether condition `type_` of a status is `True`.
pub fn condition_true(
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    type_: &str,
) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == type_ && c.status == "True")
}

/// Reports whether a room's `Ready` condition is `True`.
pub fn is_ready(room: &ivschat_operator::crd::ChatRoom) -> bool {
    room.status
        .as_ref()
        .is_some_and(|s| condition_true(&s.conditions, "Ready"))
}

/// Reports whether a room has condition `type_` with `reason`.
pub fn has_condition(room: &ivschat_operator::crd::ChatRoom, type_: &str, reason: &str) -> bool {
    room.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == type_ && c.reason == reason)
    })
}

/// Returns the ARN in a room's status, failing the test when there is none.
pub fn arn_of(room: &ivschat_operator::crd::ChatRoom) -> String {
    room.status
        .as_ref()
        .and_then(|s| s.arn.clone())
        .expect("the room has an ARN in status")
}

/// Returns a ChatRoom manifest; `spec` contains the spec's lines, indented by two spaces.
pub fn room_manifest(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: ivschat.operators.dev/v1alpha1\nkind: ChatRoom\nmetadata:\n  name: {name}\nspec:\n{spec}"
    )
}
