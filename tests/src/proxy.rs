//! A test-only TCP proxy that can cut, delay and reset a link.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Default)]
struct State {
    upstream: Mutex<Option<SocketAddr>>,
    cut: AtomicBool,
    delay_ms: AtomicU64,
    open: Mutex<Vec<TcpStream>>,
}

/// Forwards connections from its own loopback port to `upstream`.
#[derive(Debug, Clone)]
pub struct Proxy {
    /// The port to dial instead of the upstream.
    pub port: u16,
    state: Arc<State>,
}

impl Proxy {
    /// Starts a proxy to `upstream`.
    ///
    /// # Errors
    ///
    /// Cannot bind.
    pub fn start(upstream: SocketAddr) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(State { upstream: Mutex::new(Some(upstream)), ..State::default() });
        let s = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(client) = conn else { continue };
                if s.cut.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Some(upstream) = *s.upstream.lock().unwrap_or_else(|p| p.into_inner()) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                let Ok(server) = TcpStream::connect_timeout(&upstream, Duration::from_secs(2)) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                if let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) {
                    let mut open = s.open.lock().unwrap_or_else(|p| p.into_inner());
                    open.push(c2);
                    open.push(s2);
                }
                for (from, to) in [(client.try_clone(), server.try_clone()), (server.try_clone(), client.try_clone())] {
                    if let (Ok(from), Ok(to)) = (from, to) {
                        let s = s.clone();
                        std::thread::spawn(move || pump(from, to, &s));
                    }
                }
            }
        });
        Ok(Proxy { port, state })
    }

    /// Resets every open connection and refuses new ones until [`Proxy::heal`].
    pub fn cut(&self) {
        self.state.cut.store(true, Ordering::SeqCst);
        self.reset();
    }

    /// Resets every open connection (new ones are accepted).
    pub fn reset(&self) {
        for s in self.state.open.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Sends new connections to `upstream` from now on and resets the open
    /// ones: what a virtual IP or a load balancer does when the process
    /// behind it changes.
    pub fn retarget(&self, upstream: SocketAddr) {
        *self.state.upstream.lock().unwrap_or_else(|p| p.into_inner()) = Some(upstream);
        self.reset();
    }

    /// Delays every forwarded chunk.
    pub fn delay(&self, d: Duration) {
        self.state.delay_ms.store(d.as_millis() as u64, Ordering::SeqCst);
    }

    /// Accepts connections again, without delay.
    pub fn heal(&self) {
        self.state.delay_ms.store(0, Ordering::SeqCst);
        self.state.cut.store(false, Ordering::SeqCst);
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, state: &State) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let delay = state.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            std::thread::sleep(Duration::from_millis(delay));
        }
        if state.cut.load(Ordering::SeqCst) || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}
