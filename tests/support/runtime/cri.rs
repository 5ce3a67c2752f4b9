//! A small CRI client, the API kubelet drives a container runtime through: the generated
//! `runtime.v1` gRPC clients of the k8s-cri crate, over tonic, on the runtime's unix socket.
//! Calls are blocking, each with a deadline, so tests read like kubelet's sequence of calls.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use k8s_cri::v1::image_service_client::ImageServiceClient;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use tokio::net::UnixStream;
use tokio::runtime::Runtime;
use tonic::transport::{Channel, Endpoint, Uri};

/// How long one CRI call may take; pulls and sandbox starts included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// gRPC wants a URI even on a unix socket; the connector below ignores it.
const PLACEHOLDER_URI: &str = "http://[::]:0";

pub struct Cri {
    runtime: Runtime,
    channel: Channel,
}

impl Cri {
    /// Connects to the CRI socket at `socket`.
    pub fn connect(socket: &Path) -> Cri {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let socket: PathBuf = socket.to_owned();
        let connector = tower::service_fn(move |_: Uri| {
            let socket = socket.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(socket).await?)) }
        });
        let channel = runtime
            .block_on(
                Endpoint::from_static(PLACEHOLDER_URI)
                    .connect_timeout(CALL_TIMEOUT)
                    .connect_with_connector(connector),
            )
            .expect("connecting to the CRI socket");
        Cri { runtime, channel }
    }

    /// The RuntimeService: pod sandboxes, containers, exec.
    pub fn runtime(&self) -> RuntimeServiceClient<Channel> {
        RuntimeServiceClient::new(self.channel.clone())
    }

    /// The ImageService: pulls and image status.
    pub fn images(&self) -> ImageServiceClient<Channel> {
        ImageServiceClient::new(self.channel.clone())
    }

    /// Waits for one call (named `name` in failures); panics on a gRPC error or after
    /// [`CALL_TIMEOUT`].
    pub fn call<T>(
        &self,
        name: &str,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> T {
        match self
            .runtime
            .block_on(async { tokio::time::timeout(CALL_TIMEOUT, call).await })
        {
            Ok(Ok(response)) => response.into_inner(),
            Ok(Err(status)) => panic!(
                "CRI {name} failed: {:?}: {}",
                status.code(),
                status.message()
            ),
            Err(_) => panic!("CRI {name} did not answer within {CALL_TIMEOUT:?}"),
        }
    }
}
