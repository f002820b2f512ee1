//! The scheduler: one owned background task that fires [`Schedule`]s at their cron times.
//!
//! It owns *when* a schedule fires: it sleeps until the earliest next fire time, hands every
//! schedule that is due to a [`Launcher`] and works out the next time. It must not start runs,
//! touch sessions or the store itself (the launcher does, and must return at once), and it must not
//! read the time or sleep except through its [`Clock`], so the tests drive it with a clock of
//! their own and no real waiting.
//!
//! Rules, all in UTC Unix seconds (see [`crate::schedule`]):
//! - At start each schedule's first fire is the first one strictly after *now*. Fires missed
//!   while the server was down are **not** caught up: a server that was stopped over 09:00 does
//!   not post the 09:00 digest when it comes back at 09:20.
//! - A schedule is launched at most once per wake-up. If several of its fire times passed at once
//!   (the machine was suspended, the wall clock was stepped forward), it is launched once, for the
//!   latest of them, and the rest are logged as skipped.
//! - The next fire is the first one strictly after both the time just fired and now, so no fire
//!   time is launched twice, even when the wall clock goes backwards.
//! - Schedules due at the same wake-up are launched in file order.
//! - A schedule with no next fire (past the year 9999) is dropped; with none left the task ends.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::schedule::{Cron, Schedule};

/// Where the scheduler gets the time from.
pub trait Clock: Send + Sync + 'static {
    /// Now, in Unix seconds (UTC).
    fn now_unix(&self) -> u64;
    /// Resolves at or after `unix` (Unix seconds).
    fn sleep_until(&self, unix: u64) -> BoxFuture<'static, ()>;
}

/// The wall clock.
pub struct SystemClock;

/// The longest [`SystemClock::sleep_until`] trusts the monotonic timer before it looks at the wall
/// clock again. Tokio sleeps on the monotonic clock, which neither follows an NTP step nor (on
/// Linux) counts time suspended; re-reading the wall clock bounds how late a fire can be to this.
const WALL_CLOCK_SLICE: Duration = Duration::from_secs(30);

impl Clock for SystemClock {
    fn now_unix(&self) -> u64 {
        // A clock set before 1970 reads as 1970: every schedule is then simply far away.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    fn sleep_until(&self, unix: u64) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            // A target no `SystemTime` can hold is never reached.
            let Some(target) = UNIX_EPOCH.checked_add(Duration::from_secs(unix)) else {
                return futures::future::pending().await;
            };
            loop {
                // `Err` is "the target is in the past".
                match target.duration_since(SystemTime::now()) {
                    Ok(left) if !left.is_zero() => {
                        tokio::time::sleep(left.min(WALL_CLOCK_SLICE)).await;
                    }
                    _ => return,
                }
            }
        })
    }
}

/// Starts the runs.
pub trait Launcher: Send + Sync + 'static {
    /// Starts one background run for `schedule`, fired for `fire_at` (Unix seconds). Must not
    /// block for long: the scheduler waits for it before launching the next schedule.
    fn launch(&self, schedule: &Schedule, fire_at: u64);
}

/// The running scheduler. [`Scheduler::shutdown`] stops it; dropping it stops the task too, but
/// without waiting for it.
pub struct Scheduler {
    /// `None` when there was nothing to schedule.
    task: Option<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl Scheduler {
    /// Spawns the task (on the current Tokio runtime) and returns at once. With no schedules it
    /// spawns nothing.
    pub fn start(
        schedules: Vec<Schedule>,
        clock: Arc<dyn Clock>,
        launcher: Arc<dyn Launcher>,
    ) -> Scheduler {
        let (stop, stopped) = watch::channel(false);
        let task = if schedules.is_empty() {
            None
        } else {
            Some(tokio::spawn(run(schedules, clock, launcher, stopped)))
        };
        Scheduler { task, stop }
    }

    /// Stops the task, even in the middle of a sleep, and waits for it to end. A launch under
    /// way finishes first (launches are quick); the runs it started are not the scheduler's.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "scheduler task failed");
            }
        }
    }
}

/// A schedule and when it fires next.
struct Pending {
    schedule: Schedule,
    next: u64,
}

async fn run(
    schedules: Vec<Schedule>,
    clock: Arc<dyn Clock>,
    launcher: Arc<dyn Launcher>,
    mut stopped: watch::Receiver<bool>,
) {
    let now = clock.now_unix();
    // Strictly after now: nothing missed before start is caught up (see the module docs).
    let mut pending: Vec<Pending> = schedules
        .into_iter()
        .filter_map(|schedule| {
            let (name, cron) = (&schedule.name, &schedule.cron);
            let Some(next) = cron.next_after(now) else {
                tracing::warn!(schedule = %name, %cron, "schedule never fires again; dropped");
                return None;
            };
            tracing::info!(schedule = %name, %cron, next, "schedule armed");
            Some(Pending { schedule, next })
        })
        .collect();
    loop {
        let Some(earliest) = pending.iter().map(|p| p.next).min() else {
            tracing::info!("no schedule fires again; scheduler done");
            return;
        };
        tokio::select! {
            // Shutdown wins a tie: nothing is launched once it was asked for.
            biased;
            // `Err` is the `Scheduler` dropped without `shutdown`: stop all the same.
            _ = stopped.wait_for(|stop| *stop) => return,
            () = clock.sleep_until(earliest) => {}
        }
        // The clock is read again rather than trusting the wake-up: after a suspend or a clock
        // step it is the wall clock, not the sleep, that says what is due.
        let now = clock.now_unix();
        // `retain_mut` keeps file order, which is the launch order of schedules due together.
        pending.retain_mut(|p| {
            if p.next > now {
                return true;
            }
            let due = latest_due(&p.schedule.cron, p.next, now);
            let name = &p.schedule.name;
            let span = tracing::info_span!("schedule", schedule = %name, fire_at = due.fire_at);
            let _entered = span.enter();
            if due.skipped > 0 {
                let at_least = if due.skipped >= SKIP_COUNT_LIMIT {
                    "at least "
                } else {
                    ""
                };
                tracing::warn!(
                    skipped = due.skipped,
                    "{at_least}{} earlier fire time(s) passed unnoticed (suspend or clock \
                     change); launching once, for the latest",
                    due.skipped
                );
            }
            tracing::info!("schedule fired");
            launcher.launch(&p.schedule, due.fire_at);
            // Strictly after both, so a clock that went backwards cannot bring this time round
            // again and a clock that jumped ahead does not fire for a time already past.
            match p.schedule.cron.next_after(due.fire_at.max(now)) {
                Some(next) => {
                    p.next = next;
                    true
                }
                None => {
                    tracing::warn!("schedule never fires again; dropped");
                    false
                }
            }
        });
    }
}

/// How many skipped fire times [`latest_due`] counts before it stops counting: the count is only
/// for the log, and a clock stepped years ahead would otherwise mean millions of steps.
const SKIP_COUNT_LIMIT: u64 = 10_000;

/// The fire time to launch for, when `first` (a fire time of `cron`) is `<= now`.
#[derive(Debug, PartialEq, Eq)]
struct Due {
    /// The latest fire time in `first..=now`.
    fire_at: u64,
    /// How many fire times in `first..fire_at` are not launched, up to [`SKIP_COUNT_LIMIT`].
    skipped: u64,
}

fn latest_due(cron: &Cron, first: u64, now: u64) -> Due {
    // Search back from `now` in doubling windows rather than forward from `first`: forward would
    // be one step per missed minute, millions after the clock jumps years. The first window that
    // holds a fire time ends the search, and the walk forward from there is short because the
    // previous, half-size window held none.
    let mut window: u64 = 60;
    let mut fire_at = loop {
        let from = now.saturating_sub(window);
        if from <= first {
            break first;
        }
        match cron.next_after(from) {
            Some(t) if t <= now => break t,
            _ => window = window.saturating_mul(2),
        }
    };
    while let Some(t) = cron.next_after(fire_at).filter(|t| *t <= now) {
        fire_at = t;
    }
    let mut skipped = 0;
    let mut t = first;
    while t < fire_at && skipped < SKIP_COUNT_LIMIT {
        skipped += 1;
        match cron.next_after(t) {
            Some(next) => t = next,
            None => break,
        }
    }
    Due { fire_at, skipped }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::ScheduleConfig;
    use std::future::Future;
    use tokio::sync::mpsc;

    /// 2027-01-15T08:00:00Z, on a whole minute.
    const BASE: u64 = 1_800_000_000;

    /// A clock the test sets by hand. `sleep_until` resolves once the test has set the time to the
    /// target or later, and reports each target it is asked for, so a test can wait for "the
    /// scheduler is now sleeping until T" instead of waiting for time to pass.
    struct ManualClock {
        now: watch::Sender<u64>,
        sleeps: mpsc::UnboundedSender<u64>,
    }

    impl ManualClock {
        fn new(now: u64) -> (Arc<ManualClock>, mpsc::UnboundedReceiver<u64>) {
            let (sleeps, sleeps_rx) = mpsc::unbounded_channel();
            let clock = ManualClock {
                now: watch::channel(now).0,
                sleeps,
            };
            (Arc::new(clock), sleeps_rx)
        }

        fn set(&self, now: u64) {
            self.now.send_replace(now);
        }
    }

    impl Clock for ManualClock {
        fn now_unix(&self) -> u64 {
            *self.now.borrow()
        }

        fn sleep_until(&self, unix: u64) -> BoxFuture<'static, ()> {
            let _ = self.sleeps.send(unix);
            let mut now = self.now.subscribe();
            Box::pin(async move {
                if now.wait_for(|now| *now >= unix).await.is_err() {
                    futures::future::pending::<()>().await;
                }
            })
        }
    }

    /// Sends every launch as (schedule name, fire time).
    struct RecordingLauncher(mpsc::UnboundedSender<(String, u64)>);

    impl Launcher for RecordingLauncher {
        fn launch(&self, schedule: &Schedule, fire_at: u64) {
            let _ = self.0.send((schedule.name.clone(), fire_at));
        }
    }

    fn schedule(name: &str, cron: &str) -> Schedule {
        ScheduleConfig {
            name: Some(name.to_owned()),
            cron: cron.to_owned(),
            session: "s".to_owned(),
            prompt: "p".to_owned(),
        }
        .parse("unused")
        .unwrap()
    }

    struct Harness {
        clock: Arc<ManualClock>,
        sleeps: mpsc::UnboundedReceiver<u64>,
        launches: mpsc::UnboundedReceiver<(String, u64)>,
        scheduler: Scheduler,
    }

    fn start(now: u64, schedules: Vec<Schedule>) -> Harness {
        let (clock, sleeps) = ManualClock::new(now);
        let (tx, launches) = mpsc::unbounded_channel();
        let scheduler = Scheduler::start(
            schedules,
            Arc::clone(&clock) as Arc<dyn Clock>,
            Arc::new(RecordingLauncher(tx)),
        );
        Harness {
            clock,
            sleeps,
            launches,
            scheduler,
        }
    }

    /// Only a guard against a hang turning into a stuck test run; nothing waits on real time when
    /// the code is right.
    async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(60), f)
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
    }

    impl Harness {
        async fn sleeping_until(&mut self) -> u64 {
            within("a sleep", self.sleeps.recv()).await.unwrap()
        }

        async fn launch(&mut self) -> (String, u64) {
            within("a launch", self.launches.recv()).await.unwrap()
        }

        fn no_launch(&mut self) {
            assert_eq!(
                self.launches.try_recv(),
                Err(mpsc::error::TryRecvError::Empty)
            );
        }

        async fn shutdown(self) {
            within("shutdown", self.scheduler.shutdown()).await;
        }
    }

    fn launched(name: &str, at: u64) -> (String, u64) {
        (name.to_owned(), at)
    }

    #[tokio::test]
    async fn fires_at_the_cron_time_not_before_and_again_at_the_next() {
        let mut h = start(BASE + 30, vec![schedule("every-5", "*/5 * * * *")]);
        assert_eq!(h.sleeping_until().await, BASE + 300);
        h.clock.set(BASE + 299);
        h.no_launch();
        h.clock.set(BASE + 300);
        assert_eq!(h.launch().await, launched("every-5", BASE + 300));
        assert_eq!(h.sleeping_until().await, BASE + 600);
        h.no_launch();
        // Woken a little late: still the cron time, not the wake-up time.
        h.clock.set(BASE + 607);
        assert_eq!(h.launch().await, launched("every-5", BASE + 600));
        assert_eq!(h.sleeping_until().await, BASE + 900);
        h.no_launch();
        h.shutdown().await;
    }

    #[tokio::test]
    async fn a_start_on_a_fire_time_waits_for_the_next_one() {
        // Strictly after now: the minute the server starts in is not fired, nor any before it.
        let mut h = start(BASE, vec![schedule("hourly", "0 * * * *")]);
        assert_eq!(h.sleeping_until().await, BASE + 3_600);
        h.no_launch();
        h.shutdown().await;
    }

    #[tokio::test]
    async fn schedules_due_together_launch_in_file_order() {
        let mut h = start(
            BASE + 1,
            vec![
                schedule("b-first", "1 * * * *"),
                schedule("later", "2 * * * *"),
                schedule("a-second", "*/1 * * * *"),
            ],
        );
        assert_eq!(h.sleeping_until().await, BASE + 60);
        h.clock.set(BASE + 60);
        assert_eq!(h.launch().await, launched("b-first", BASE + 60));
        assert_eq!(h.launch().await, launched("a-second", BASE + 60));
        assert_eq!(h.sleeping_until().await, BASE + 120);
        h.no_launch();
        h.clock.set(BASE + 120);
        assert_eq!(h.launch().await, launched("later", BASE + 120));
        assert_eq!(h.launch().await, launched("a-second", BASE + 120));
        assert_eq!(h.sleeping_until().await, BASE + 180);
        h.no_launch();
        h.shutdown().await;
    }

    #[tokio::test]
    async fn a_jump_past_several_fire_times_launches_once_for_the_latest() {
        let mut h = start(
            BASE + 1,
            vec![
                schedule("minutely", "* * * * *"),
                schedule("hourly", "0 * * * *"),
            ],
        );
        assert_eq!(h.sleeping_until().await, BASE + 60);
        // A suspend over five and a half minutes.
        h.clock.set(BASE + 5 * 60 + 30);
        assert_eq!(h.launch().await, launched("minutely", BASE + 300));
        assert_eq!(h.sleeping_until().await, BASE + 360);
        h.no_launch();
        // And a wall clock stepped ahead by three days and a bit: each launches once.
        h.clock.set(BASE + 3 * 86_400 + 90);
        assert_eq!(
            h.launch().await,
            launched("minutely", BASE + 3 * 86_400 + 60)
        );
        assert_eq!(h.launch().await, launched("hourly", BASE + 3 * 86_400));
        assert_eq!(h.sleeping_until().await, BASE + 3 * 86_400 + 120);
        h.no_launch();
        h.shutdown().await;
    }

    #[tokio::test]
    async fn a_clock_going_backwards_does_not_fire_a_time_again() {
        let mut h = start(BASE + 1, vec![schedule("minutely", "* * * * *")]);
        assert_eq!(h.sleeping_until().await, BASE + 60);
        h.clock.set(BASE + 60);
        assert_eq!(h.launch().await, launched("minutely", BASE + 60));
        assert_eq!(h.sleeping_until().await, BASE + 120);
        // Stepped back five minutes, then forward through the minute already fired.
        h.clock.set(BASE - 240);
        h.clock.set(BASE + 60);
        h.no_launch();
        h.clock.set(BASE + 120);
        assert_eq!(h.launch().await, launched("minutely", BASE + 120));
        assert_eq!(h.sleeping_until().await, BASE + 180);
        h.no_launch();
        h.shutdown().await;
    }

    #[tokio::test]
    async fn shutdown_mid_sleep_returns_promptly() {
        let mut h = start(BASE, vec![schedule("yearly", "@yearly")]);
        let target = h.sleeping_until().await;
        assert!(target > BASE);
        // The clock never moves: only the shutdown can end the sleep.
        let mut launches = std::mem::replace(&mut h.launches, mpsc::unbounded_channel().1);
        h.shutdown().await;
        assert_eq!(
            launches.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected),
            "the task ended, dropping its launcher, without launching"
        );
    }

    #[tokio::test]
    async fn no_schedules_spawns_nothing() {
        let mut h = start(BASE, Vec::new());
        assert!(h.scheduler.task.is_none());
        assert_eq!(h.sleeps.try_recv(), Err(mpsc::error::TryRecvError::Empty));
        h.shutdown().await;
    }

    #[tokio::test]
    async fn schedules_without_a_next_fire_are_dropped() {
        // 9999-12-31T23:00Z: `0 0 1 1 *` has no next fire, `59 23 31 12 *` has one, then none.
        let late = 253_402_297_200;
        let mut h = start(
            late,
            vec![
                schedule("never", "0 0 1 1 *"),
                schedule("last", "59 23 31 12 *"),
            ],
        );
        let last = late + 59 * 60;
        assert_eq!(h.sleeping_until().await, last);
        h.clock.set(last);
        assert_eq!(h.launch().await, launched("last", last));
        // Nothing left: the task ends by itself (dropping the launcher) and sleeps no more.
        assert_eq!(within("the task to end", h.launches.recv()).await, None);
        assert_eq!(h.sleeps.try_recv(), Err(mpsc::error::TryRecvError::Empty));
        h.shutdown().await;
    }

    #[test]
    fn latest_due_picks_the_last_passed_time_and_counts_the_rest() {
        let cron = |expr: &str| expr.parse::<Cron>().unwrap();
        let every_minute = cron("* * * * *");
        assert_eq!(
            latest_due(&every_minute, BASE, BASE),
            Due {
                fire_at: BASE,
                skipped: 0
            }
        );
        assert_eq!(
            latest_due(&every_minute, BASE, BASE + 59),
            Due {
                fire_at: BASE,
                skipped: 0
            }
        );
        assert_eq!(
            latest_due(&every_minute, BASE, BASE + 5 * 60 + 30),
            Due {
                fire_at: BASE + 300,
                skipped: 5
            }
        );
        // Sparse: 08:00 and 08:30 daily. From 08:00 on day 0 to 08:29 on day 2.
        let twice = cron("0,30 8 * * *");
        assert_eq!(
            latest_due(&twice, BASE, BASE + 2 * 86_400 + 29 * 60),
            Due {
                fire_at: BASE + 2 * 86_400,
                skipped: 4
            }
        );
        // Years ahead: quick, and the count stops at the limit.
        let years = 40 * 365 * 86_400;
        assert_eq!(
            latest_due(&every_minute, BASE, BASE + years + 7),
            Due {
                fire_at: BASE + years,
                skipped: SKIP_COUNT_LIMIT
            }
        );
        // From 2096-02-29 to 2136-02-20: 2100 is not a leap year, so 2096, 2104, ..., 2128 are
        // skipped (eight) and 2132-02-29 is launched.
        assert_eq!(
            latest_due(&cron("0 0 29 2 *"), 3_981_312_000, 3_981_312_000 + years),
            Due {
                fire_at: 5_117_299_200,
                skipped: 8
            }
        );
    }

    #[tokio::test]
    async fn system_clock_sleep_until_the_past_resolves_at_once() {
        let now = SystemClock.now_unix();
        assert!(now > 1_700_000_000, "the wall clock reads {now}");
        within("a past target", SystemClock.sleep_until(0)).await;
        within("a past target", SystemClock.sleep_until(now - 1)).await;
        within("the current second", SystemClock.sleep_until(now)).await;
    }
}
