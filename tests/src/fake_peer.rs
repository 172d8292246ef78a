//! A fake publisher: a real tonic `jaring.v1.Federation` server behind mTLS
//! with a node's identity and TLS material, serving whatever log, poisoned
//! frame or flood a test sets, so a real subscriber can be fed what no
//! honest node would send.
#![allow(clippy::unwrap_used)] // a test harness: a poisoned lock is a failed test

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jaring_node::envelope::SignedEnvelope;
use jaring_node::tls::{self, NodeTlsFiles, OwnCert, PeerTrust, TrustedPeer};
use jaring_node::wire::ToPb;
use jaring_proto::pb;
use jaring_proto::pb::federation_server::{Federation, FederationServer};
use prost::Message;
use tokio::sync::{Notify, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use crate::TestNode;

/// What the fake sends on a stream: a response, or raw bytes as one gRPC
/// message (only on a raw fake).
#[derive(Clone, Debug)]
pub enum Out {
    /// A response.
    Msg(pb::SubscribeResponse),
    /// Bytes sent as one gRPC message.
    Raw(Vec<u8>),
}

/// What the fake publisher serves, shared by its streams.
#[derive(Debug, Default)]
pub struct FakeState {
    /// The fake's log: entry `i` sits at position `i + 1`.
    pub log: Mutex<Vec<pb::LogEntry>>,
    /// A misbehaviour sent once, on the open stream, ahead of the log.
    pub poison: Mutex<Option<Out>>,
    /// Sent over and over, as fast as the subscriber takes it, while set.
    pub flood: Mutex<Option<pb::SubscribeResponse>>,
    /// Flood responses sent so far.
    pub flood_sent: AtomicU64,
    /// Log entries per response.
    pub batch: AtomicUsize,
    /// The cursor of every `Subscribe`, in order.
    pub subscribes: Mutex<Vec<u64>>,
    /// When the first log entry went out.
    pub first_send: Mutex<Option<Instant>>,
    /// Wakes the streams after a change.
    pub wake: Notify,
}

impl FakeState {
    /// A new stream from `cursor`: a task feeding a small channel.
    fn open(self: &Arc<Self>, req: pb::SubscribeRequest) -> mpsc::Receiver<Out> {
        self.subscribes.lock().unwrap().push(req.cursor);
        let (tx, rx) = mpsc::channel(2);
        tokio::spawn(serve(self.clone(), req.cursor, tx));
        rx
    }
}

async fn serve(state: Arc<FakeState>, cursor: u64, tx: mpsc::Sender<Out>) {
    let mut next = cursor;
    loop {
        let poison = state.poison.lock().unwrap().take();
        if let Some(p) = poison {
            if tx.send(p).await.is_err() {
                return;
            }
            continue;
        }
        let flood = state.flood.lock().unwrap().clone();
        if let Some(msg) = flood {
            if tx.send(Out::Msg(msg)).await.is_err() {
                return;
            }
            state.flood_sent.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let (entries, head) = {
            let log = state.log.lock().unwrap();
            let batch = state.batch.load(Ordering::Relaxed).max(1);
            let entries: Vec<_> = log.iter().skip(usize::try_from(next).unwrap()).take(batch).cloned().collect();
            (entries, log.len() as u64)
        };
        if let Some(last) = entries.last() {
            next = last.seq;
            state.first_send.lock().unwrap().get_or_insert_with(Instant::now);
            if tx.send(Out::Msg(pb::SubscribeResponse { entries, cursor: next, head })).await.is_err() {
                return;
            }
            continue;
        }
        tokio::select! {
            _ = state.wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            _ = tx.closed() => return,
        }
    }
}

/// The fake's Federation service, as the generated server trait.
#[derive(Debug)]
struct FakeService {
    state: Arc<FakeState>,
    card: String,
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<pb::SubscribeResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Federation for FakeService {
    type SubscribeStream = ResponseStream;

    async fn subscribe(&self, req: Request<pb::SubscribeRequest>) -> Result<Response<ResponseStream>, Status> {
        let rx = self.state.open(req.into_inner());
        let stream = ReceiverStream::new(rx).map(|out| match out {
            Out::Msg(m) => Ok(m),
            Out::Raw(_) => panic!("raw frames need a raw fake (Fake::start(.., true))"),
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn get_identity(
        &self,
        _req: Request<pb::GetIdentityRequest>,
    ) -> Result<Response<pb::GetIdentityResponse>, Status> {
        Ok(Response::new(pb::GetIdentityResponse { identity_json: self.card.clone() }))
    }

    // The fake keeps no transparency log: its witnesses find none.
    async fn get_checkpoint(
        &self,
        _req: Request<pb::GetCheckpointRequest>,
    ) -> Result<Response<pb::GetCheckpointResponse>, Status> {
        Err(Status::not_found("the fake keeps no transparency log"))
    }

    async fn get_tiles(&self, _req: Request<pb::GetTilesRequest>) -> Result<Response<pb::GetTilesResponse>, Status> {
        Err(Status::not_found("the fake keeps no transparency log"))
    }

    async fn add_cosignature(
        &self,
        _req: Request<pb::AddCosignatureRequest>,
    ) -> Result<Response<pb::AddCosignatureResponse>, Status> {
        Ok(Response::new(pb::AddCosignatureResponse { kept: false }))
    }
}

/// Encodes whatever bytes it is given as one gRPC message.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;
#[derive(Debug)]
struct RawEncoder;
#[derive(Debug)]
struct RequestDecoder;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = pb::SubscribeRequest;
    type Encoder = RawEncoder;
    type Decoder = RequestDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RequestDecoder {
        RequestDecoder
    }
}

impl tonic::codec::Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut tonic::codec::EncodeBuf<'_>) -> Result<(), Status> {
        prost::bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RequestDecoder {
    type Item = pb::SubscribeRequest;
    type Error = Status;
    fn decode(&mut self, src: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<pb::SubscribeRequest>, Status> {
        pb::SubscribeRequest::decode(src).map(Some).map_err(|e| Status::internal(e.to_string()))
    }
}

/// `Subscribe` with raw frames: [`Out::Raw`] goes on the wire as it is.
#[derive(Debug)]
struct RawSubscribe(Arc<FakeState>);

type RawStream = Pin<Box<dyn Stream<Item = Result<Vec<u8>, Status>> + Send>>;

impl tonic::server::ServerStreamingService<pb::SubscribeRequest> for RawSubscribe {
    type Response = Vec<u8>;
    type ResponseStream = RawStream;
    type Future = tonic::codegen::BoxFuture<Response<RawStream>, Status>;

    fn call(&mut self, req: Request<pb::SubscribeRequest>) -> Self::Future {
        let rx = self.0.open(req.into_inner());
        let stream = ReceiverStream::new(rx).map(|out| {
            Ok(match out {
                Out::Msg(m) => m.encode_to_vec(),
                Out::Raw(bytes) => bytes,
            })
        });
        Box::pin(async move { Ok(Response::new(Box::pin(stream) as RawStream)) })
    }
}

/// Routes `Subscribe` to [`RawSubscribe`] on a raw fake, everything else to
/// the generated server.
#[derive(Clone, Debug)]
struct Router {
    generated: FederationServer<FakeService>,
    state: Arc<FakeState>,
    raw: bool,
}

impl tonic::server::NamedService for Router {
    const NAME: &'static str = "jaring.v1.Federation";
}

impl tonic::codegen::Service<tonic::codegen::http::Request<tonic::body::Body>> for Router {
    type Response = tonic::codegen::http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = tonic::codegen::BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: tonic::codegen::http::Request<tonic::body::Body>) -> Self::Future {
        if self.raw && req.uri().path() == "/jaring.v1.Federation/Subscribe" {
            let svc = RawSubscribe(self.state.clone());
            return Box::pin(async move { Ok(tonic::server::Grpc::new(RawCodec).server_streaming(svc, req).await) });
        }
        tonic::codegen::Service::call(&mut self.generated, req)
    }
}

/// A fake publisher on `evil`'s federation address, with `evil`'s TLS
/// material and identity card, that lets `subscriber` in.
#[derive(Debug)]
pub struct Fake {
    /// What it serves.
    pub state: Arc<FakeState>,
    /// The runtime its server runs on.
    pub rt: tokio::runtime::Runtime,
}

impl Fake {
    /// Serves `evil`'s federation port; with `raw`, [`Out::Raw`] frames go
    /// on the wire as they are.
    ///
    /// # Panics
    ///
    /// If the port or `evil`'s TLS material cannot be used.
    pub fn start(evil: &TestNode, subscriber: &TestNode, raw: bool) -> Fake {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let state = Arc::new(FakeState::default());
        let own = Arc::new(OwnCert::load(&NodeTlsFiles::in_dir(evil.dir().join("tls"))).unwrap());
        let ca = std::fs::read_to_string(subscriber.dir().join("tls/ca.pem")).unwrap();
        let trust = PeerTrust::new();
        assert!(trust.replace(vec![TrustedPeer::from_ca_pem(&subscriber.id, &ca).unwrap()]).is_empty());
        let card = std::fs::read_to_string(evil.identity()).unwrap();
        let service = FakeService { state: state.clone(), card };
        let router = Router {
            // No size limit of its own: the fake sends what the test asks.
            generated: FederationServer::new(service).max_encoding_message_size(usize::MAX),
            state: state.clone(),
            raw,
        };
        let port = evil.fed_port;
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
            let incoming = tls::tls_incoming(listener, tls::server_config(own, trust.clone()).unwrap(), trust);
            tokio::spawn(tonic::transport::Server::builder().add_service(router).serve_with_incoming(incoming));
        });
        Fake { state, rt }
    }

    /// Appends envelopes to the fake's log; they go out in order.
    pub fn push(&self, envs: &[SignedEnvelope]) {
        {
            let mut log = self.state.log.lock().unwrap();
            for env in envs {
                let seq = log.len() as u64 + 1;
                log.push(pb::LogEntry { seq, envelope: Some(env.to_pb()) });
            }
        }
        self.state.wake.notify_waiters();
    }

    /// Sends `out` once on the open stream.
    pub fn poison(&self, out: Out) {
        *self.state.poison.lock().unwrap() = Some(out);
        self.state.wake.notify_waiters();
    }

    /// The cursor of every `Subscribe` so far.
    pub fn subscribes(&self) -> Vec<u64> {
        self.state.subscribes.lock().unwrap().clone()
    }
}
