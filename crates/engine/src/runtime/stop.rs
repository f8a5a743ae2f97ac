//! The stop policy every runtime shares: the container's stop signal to its PID 1, a grace
//! period for it to exit, then SIGKILL ([`crate::stopping`]). A runtime backend provides the
//! few operations the policy needs ([`Container`]); runc's [`crate::Running`] and
//! libcontainer's `runtime::libcontainer::Running` both stop through [`StopPolicy::stop`].

use std::time::{Duration, Instant};

use locald_spec_macros::implements;

use crate::bundle::Bundle;
use crate::error::Result;
use crate::stopping;

/// A started container, whichever runtime runs it: what [`StopPolicy`] needs of it.
///
/// ```
/// use locald_engine::runtime::{Container, StopPolicy};
/// use std::time::Duration;
///
/// /// A container that ignores its stop signal and dies of SIGKILL.
/// struct Stubborn { signals: Vec<i32>, dead: bool }
/// impl Container for Stubborn {
///     fn started(&mut self) -> bool { true }
///     fn signal(&mut self, signal: i32) -> locald_engine::Result<()> {
///         self.signals.push(signal);
///         self.dead |= signal == 9;
///         Ok(())
///     }
///     fn try_wait(&mut self) -> locald_engine::Result<Option<i32>> {
///         Ok(self.dead.then_some(128 + 9))
///     }
///     fn wait(&mut self) -> locald_engine::Result<i32> { Ok(128 + 9) }
/// }
///
/// let mut c = Stubborn { signals: vec![], dead: false };
/// let stopped = StopPolicy::new(15, Duration::from_millis(100)).stop(&mut c)?;
/// assert_eq!(c.signals, [15, 9]);
/// assert!(stopped.killed);
/// assert_eq!(stopped.code, 137);
/// # Ok::<(), locald_engine::Error>(())
/// ```
pub trait Container {
    /// Whether the container's own process runs (the runtime's state `running`): a signal sent
    /// earlier would reach the runtime's own init, which has no handlers, and be ignored.
    fn started(&mut self) -> bool;
    /// Send signal number `signal` to the container's PID 1.
    fn signal(&mut self, signal: i32) -> Result<()>;
    /// The container's exit code (128+N when signal N ended it) if it has ended; never blocks.
    fn try_wait(&mut self) -> Result<Option<i32>>;
    /// Wait for the container to end and return its exit code.
    fn wait(&mut self) -> Result<i32>;
    /// Kill the container with SIGKILL (by default: [`Container::signal`]).
    fn kill(&mut self) -> Result<()> {
        self.signal(stopping::SIGKILL)
    }
}

/// How a container stopped by [`StopPolicy::stop`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    /// The container's exit code (128+N when signal N ended it).
    pub code: i32,
    /// Whether it had to be killed with SIGKILL after the grace period.
    pub killed: bool,
}

/// How a container is stopped: its stop signal, then SIGKILL after a grace period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopPolicy {
    /// The signal sent first (the image's `StopSignal`, else SIGTERM).
    pub signal: i32,
    /// How long the container has to exit before SIGKILL.
    pub timeout: Duration,
}

/// How often the policy looks at the container while it waits.
const POLL: Duration = Duration::from_millis(50);

impl StopPolicy {
    /// `signal`, then SIGKILL after `timeout`.
    pub fn new(signal: i32, timeout: Duration) -> Self {
        StopPolicy { signal, timeout }
    }

    /// The bundle's stop signal (recorded at prepare time) and
    /// [`stopping::DEFAULT_STOP_TIMEOUT`].
    pub fn for_bundle(bundle: &Bundle) -> Self {
        StopPolicy::new(bundle.info.stop_signal, stopping::DEFAULT_STOP_TIMEOUT)
    }

    /// Stop `container`: the stop signal once it has started (retried until it is delivered),
    /// up to the grace period for it to end, then SIGKILL, and wait for it.
    #[implements("stopping.signal", "stopping.timeout")]
    pub fn stop<C: Container + ?Sized>(&self, container: &mut C) -> Result<Stopped> {
        let deadline = Instant::now() + self.timeout;
        let mut signalled = false;
        while Instant::now() < deadline {
            if let Some(code) = container.try_wait()? {
                return Ok(Stopped {
                    code,
                    killed: false,
                });
            }
            if !signalled && container.started() {
                signalled = container.signal(self.signal).is_ok();
            }
            std::thread::sleep(POLL);
        }
        // A failed SIGKILL (the container ended meanwhile) is no error: waiting tells.
        let _ = container.kill();
        Ok(Stopped {
            code: container.wait()?,
            killed: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use locald_spec_macros::verifies;

    /// A container that ends `after` signals of `ends_on`, recording what it got.
    struct Fake {
        started_after: u32,
        polls: u32,
        ends_on: i32,
        got: Vec<i32>,
        code: Option<i32>,
    }

    impl Container for Fake {
        fn started(&mut self) -> bool {
            self.polls += 1;
            self.polls > self.started_after
        }
        fn signal(&mut self, signal: i32) -> Result<()> {
            self.got.push(signal);
            if signal == self.ends_on || signal == stopping::SIGKILL {
                self.code = Some(128 + signal);
            }
            Ok(())
        }
        fn try_wait(&mut self) -> Result<Option<i32>> {
            Ok(self.code)
        }
        fn wait(&mut self) -> Result<i32> {
            Ok(self.code.expect("killed before waiting"))
        }
    }

    fn fake(started_after: u32, ends_on: i32) -> Fake {
        Fake {
            started_after,
            polls: 0,
            ends_on,
            got: vec![],
            code: None,
        }
    }

    #[test]
    #[verifies("stopping.signal")]
    fn the_stop_signal_waits_for_the_container_to_start_and_is_sent_once() {
        let mut c = fake(2, 10);
        let s = StopPolicy::new(10, Duration::from_secs(5))
            .stop(&mut c)
            .unwrap();
        assert_eq!(
            s,
            Stopped {
                code: 138,
                killed: false
            }
        );
        assert_eq!(c.got, [10]);
        assert_eq!(c.polls, 3, "asked until it started");
    }

    #[test]
    #[verifies("stopping.timeout")]
    fn sigkill_follows_the_grace_period() {
        let mut c = fake(0, 0);
        let t = Instant::now();
        let s = StopPolicy::new(15, Duration::from_millis(200))
            .stop(&mut c)
            .unwrap();
        assert!(t.elapsed() >= Duration::from_millis(200));
        assert_eq!(
            s,
            Stopped {
                code: 137,
                killed: true
            }
        );
        assert_eq!(c.got, [15, 9]);
    }
}
