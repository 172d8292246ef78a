//! One shutdown signal for every task.
//!
//! [`Trigger::fire`] flips a watch channel; every [`Shutdown`] clone sees it.
//! Servers and tasks select on [`Shutdown::wait`] and finish their current
//! work; `run` then awaits their join handles by name.

use tokio::sync::watch;

/// Fires the shutdown.
#[derive(Debug, Clone)]
pub struct Trigger(watch::Sender<bool>);

/// Observes the shutdown.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

/// A connected trigger and observer.
pub fn channel() -> (Trigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (Trigger(tx), Shutdown(rx))
}

impl Trigger {
    /// Tells every task to stop.
    pub fn fire(&self) {
        self.0.send_replace(true);
    }

    /// A new observer.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown(self.0.subscribe())
    }
}

impl Shutdown {
    /// Whether shutdown has been requested.
    pub fn is_shutdown(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once shutdown is requested (at once if it already was).
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|v| *v).await;
    }
}

/// Bumps `reload` on every SIGHUP until the receivers are gone.
pub async fn on_hangup(reload: tokio::sync::watch::Sender<u64>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; use `jaring tls reload`");
        return;
    };
    while hup.recv().await.is_some() {
        let next = reload.borrow().wrapping_add(1);
        if reload.send(next).is_err() {
            break;
        }
    }
}

/// Resolves on the first SIGTERM or SIGINT.
pub async fn on_signals() {
    use tokio::signal::unix::{SignalKind, signal};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
