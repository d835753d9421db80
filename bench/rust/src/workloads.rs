//! The workloads of the bench protocol, for tokio::sync and crossbeam-channel.
//!
//! Each workload function does one run of `n` operations and returns what the
//! timed section measured; `run` calls it once with a small warm-up size and
//! once with the real size, in the same runtime.  Channel, runtime and task
//! set-up that is not the operation being measured happens before the meter
//! starts where the structure allows; spawning the tasks is inside it (a few
//! allocations, amortized over millions of operations).

use crate::{black_box, check, Meter, Outcome};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::runtime::{Builder, Runtime};
use tokio::sync::{broadcast, mpsc, oneshot, watch, Mutex, Notify, Semaphore};

pub const NAMES: &[&str] = &[
    "spsc_bounded",
    "mpsc_bounded_4p",
    "spsc_unbounded",
    "pingpong_oneshot",
    "pingpong_mpsc",
    "broadcast_fanout",
    "watch_readers",
    "mutex_contended",
    "semaphore_contended",
    "select_2chan",
    "notify_pingpong",
    "thread_blocking_spsc",
    "create_drop",
    "idle_channels",
    // tokio has no rendezvous (zero-capacity) channel: run() returns None,
    // the program exits 3 and the table shows a dash.
    "rendezvous_pingpong",
];

/// Default operation counts: each run takes roughly 0.5-3 s on the 2-core
/// bench machine (tokio's cross-thread figures are bimodal, so the range is
/// wide).  --size overrides.
fn default_size(imp: &str, workload: &str) -> u64 {
    if imp == "crossbeam" && workload == "thread_blocking_spsc" {
        return 20_000_000; // crossbeam is about 3x faster than tokio here
    }
    match workload {
        "spsc_bounded" => 8_000_000,
        "mpsc_bounded_4p" => 8_000_000,
        "spsc_unbounded" => 16_000_000,
        "pingpong_oneshot" => 12_000_000,
        "pingpong_mpsc" => 10_000_000,
        "broadcast_fanout" => 12_000_000, // deliveries (the protocol's ops): 8 per message
        "watch_readers" => 10_000_000,
        "mutex_contended" => 10_000_000,
        "semaphore_contended" => 32_000_000,
        "select_2chan" => 10_000_000,
        "notify_pingpong" => 12_000_000,
        "thread_blocking_spsc" => 5_000_000,
        "create_drop" => 8_000_000,
        "idle_channels" => 1_000_000,
        _ => 1_000_000,
    }
}

const CAPACITY: usize = 1024;

/// The runtime a workload runs on: 2 worker threads for the cross-thread
/// workloads, the caller's thread for the one-thread ones.
/// Worker threads of the cross-thread workloads (--workers N, default 2).
pub static WORKERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(2);

fn multi_thread() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(WORKERS.load(std::sync::atomic::Ordering::Relaxed))
        .build()
        .expect("tokio runtime")
}

fn current_thread() -> Runtime {
    Builder::new_current_thread().build().expect("tokio runtime")
}

/// The warm-up every implementation runs (bench/README.md, "The warm-up"):
/// one untimed run of a twentieth of the size (at least 1000 ops, at most
/// the size), rounded down to a multiple of k like the size itself, then the
/// timed run whose outcome is reported.
fn warm_then_run<F: FnMut(u64) -> Outcome>(n: u64, k: u64, mut f: F) -> Outcome {
    let _ = f(multiple((n / 20).max(1000).min(n), k));
    f(n)
}

/// Rounds n down to a multiple of k (at least k).
fn multiple(n: u64, k: u64) -> u64 {
    (n / k).max(1) * k
}

pub fn run(imp: &str, workload: &str, size: Option<u64>) -> Option<Outcome> {
    let n = size.unwrap_or_else(|| default_size(imp, workload));
    if imp == "crossbeam" {
        return match workload {
            "thread_blocking_spsc" => Some(warm_then_run(n, 1, crossbeam_thread_spsc)),
            _ => None,
        };
    }
    let out = match workload {
        "spsc_bounded" => {
            let rt = multi_thread();
            warm_then_run(n, 1, |n| spsc_bounded(&rt, n))
        }
        "mpsc_bounded_4p" => {
            let rt = multi_thread();
            warm_then_run(multiple(n, 4), 4, |n| mpsc_bounded_4p(&rt, n))
        }
        "spsc_unbounded" => {
            let rt = multi_thread();
            warm_then_run(n, 1, |n| spsc_unbounded(&rt, n))
        }
        "pingpong_oneshot" => {
            let rt = current_thread();
            warm_then_run(multiple(n, 2), 2, |n| pingpong_oneshot(&rt, n))
        }
        "pingpong_mpsc" => {
            let rt = current_thread();
            warm_then_run(multiple(n, 2), 2, |n| pingpong_mpsc(&rt, n))
        }
        "broadcast_fanout" => {
            let rt = multi_thread();
            // --size counts deliveries, as for every peer: n / 8 messages.
            warm_then_run(n, 1, |n| broadcast_fanout(&rt, (n / RECEIVERS as u64).max(1)))
        }
        "watch_readers" => {
            let rt = multi_thread();
            warm_then_run(n, 1, |n| watch_readers(&rt, n))
        }
        "mutex_contended" => {
            let rt = multi_thread();
            warm_then_run(multiple(n, 16), 16, |n| mutex_contended(&rt, n))
        }
        "semaphore_contended" => {
            let rt = multi_thread();
            warm_then_run(multiple(n, 16), 16, |n| semaphore_contended(&rt, n))
        }
        "select_2chan" => {
            let rt = multi_thread();
            warm_then_run(multiple(n, 2), 2, |n| select_2chan(&rt, n))
        }
        "notify_pingpong" => {
            let rt = current_thread();
            warm_then_run(multiple(n, 2), 2, |n| notify_pingpong(&rt, n))
        }
        "thread_blocking_spsc" => warm_then_run(n, 1, tokio_thread_spsc),
        "create_drop" => warm_then_run(n, 1, create_drop),
        // No warm-up: memory a warm-up frees stays in the allocator's free
        // lists and would hide part of the RSS growth.
        "idle_channels" => idle_channels(n),
        _ => return None,
    };
    Some(out)
}

/// 1 producer, 1 consumer, mpsc bounded 1024, 2 workers.
fn spsc_bounded(rt: &Runtime, n: u64) -> Outcome {
    rt.block_on(async move {
        let (tx, mut rx) = mpsc::channel::<u64>(CAPACITY);
        let m = Meter::start();
        let p = tokio::spawn(async move {
            for i in 0..n {
                tx.send(i).await.expect("receiver alive");
            }
        });
        let c = tokio::spawn(async move {
            let (mut k, mut sum) = (0u64, 0u64);
            while let Some(v) = rx.recv().await {
                k += 1;
                sum = sum.wrapping_add(v);
            }
            (k, sum)
        });
        p.await.unwrap();
        let (k, sum) = c.await.unwrap();
        let out = Outcome::new(n, &m);
        check(k == n && sum == n.wrapping_mul(n.wrapping_sub(1)) / 2, "spsc_bounded count");
        out
    })
}

/// 4 producers (n/4 each), 1 consumer, mpsc bounded 1024, 2 workers.
fn mpsc_bounded_4p(rt: &Runtime, n: u64) -> Outcome {
    rt.block_on(async move {
        let (tx, mut rx) = mpsc::channel::<u64>(CAPACITY);
        let per = n / 4;
        let m = Meter::start();
        let mut producers = Vec::with_capacity(4);
        for _ in 0..4 {
            let tx = tx.clone();
            producers.push(tokio::spawn(async move {
                for i in 0..per {
                    tx.send(i).await.expect("receiver alive");
                }
            }));
        }
        drop(tx);
        let c = tokio::spawn(async move {
            let mut k = 0u64;
            while let Some(v) = rx.recv().await {
                k += 1;
                black_box(v);
            }
            k
        });
        for p in producers {
            p.await.unwrap();
        }
        let k = c.await.unwrap();
        let out = Outcome::new(n, &m);
        check(k == n, "mpsc_bounded_4p count");
        out
    })
}

/// 1 producer, 1 consumer, mpsc unbounded, 2 workers.
fn spsc_unbounded(rt: &Runtime, n: u64) -> Outcome {
    rt.block_on(async move {
        let (tx, mut rx) = mpsc::unbounded_channel::<u64>();
        let probe = Arc::new(QueueProbe::new());
        let (pp, cp) = (probe.clone(), probe.clone());
        let mem0 = mem_mark();
        let m = Meter::start();
        let p = tokio::spawn(async move {
            for i in 0..n {
                tx.send(i).expect("receiver alive");
                pp.sent(i + 1);
            }
        });
        let c = tokio::spawn(async move {
            let mut k = 0u64;
            while let Some(v) = rx.recv().await {
                k += 1;
                black_box(v);
                cp.received(k);
            }
            k
        });
        p.await.unwrap();
        let k = c.await.unwrap();
        let mut out = Outcome::new(n, &m);
        check(k == n, "spsc_unbounded count");
        mem_extras(&mut out, mem0, probe.peak(), std::mem::size_of::<u64>());
        out
    })
}

/// Peak queued messages of a producer and a consumer (spsc_unbounded, issue
/// 14), as bench/awaitkit/bench.h's bk_queue_probe: each side publishes its
/// count every PROBE_EVERY messages and reads the other's, keeping the
/// largest difference; the sender's view overstates the peak by less than
/// PROBE_EVERY, the receiver's understates it; peak() is the larger.
const PROBE_EVERY: u64 = 1024;

struct QueueProbe {
    sent: Padded,
    received: Padded,
    peak_sender: Padded,
    peak_receiver: Padded,
}

impl QueueProbe {
    fn new() -> QueueProbe {
        let z = || Padded(AtomicU64::new(0));
        QueueProbe { sent: z(), received: z(), peak_sender: z(), peak_receiver: z() }
    }
    #[inline]
    fn sent(&self, sent: u64) {
        if sent % PROBE_EVERY != 0 {
            return;
        }
        self.sent.0.store(sent, Ordering::Relaxed);
        let r = self.received.0.load(Ordering::Relaxed);
        if sent > r && sent - r > self.peak_sender.0.load(Ordering::Relaxed) {
            self.peak_sender.0.store(sent - r, Ordering::Relaxed);
        }
    }
    #[inline]
    fn received(&self, received: u64) {
        if received % PROBE_EVERY != 0 {
            return;
        }
        self.received.0.store(received, Ordering::Relaxed);
        let s = self.sent.0.load(Ordering::Relaxed);
        if s > received && s - received > self.peak_receiver.0.load(Ordering::Relaxed) {
            self.peak_receiver.0.store(s - received, Ordering::Relaxed);
        }
    }
    fn peak(&self) -> u64 {
        self.peak_sender.0.load(Ordering::Relaxed).max(self.peak_receiver.0.load(Ordering::Relaxed))
    }
}

extern "C" {
    fn malloc_trim(pad: usize) -> i32;
}

/// As bench/awaitkit/bench.h's bk_mem_mark(): freed memory back to the
/// kernel, the kernel's peak-RSS mark reset, the RSS now (bytes).
fn mem_mark() -> u64 {
    unsafe {
        malloc_trim(0);
    }
    std::fs::write("/proc/self/clear_refs", "5").expect("/proc/self/clear_refs");
    rss_bytes()
}

/// Peak RSS since mem_mark() (VmHWM), bytes.
fn mem_peak() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = s
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|f| f.parse().ok())
        .expect("VmHWM");
    kib * 1024
}

/// peak_queued, peak_mem_kib and mem_per_queued, as the awaitkit program
/// prints them.
fn mem_extras(out: &mut Outcome, mem0: u64, peak_queued: u64, elem: usize) {
    let grew = mem_peak().saturating_sub(mem0);
    out.extra.push(("peak_queued", format!("{}", peak_queued)));
    out.extra.push(("peak_mem_kib", format!("{}", grew / 1024)));
    let per = if peak_queued > 0 { grew as f64 / (peak_queued as f64 * elem as f64) } else { 0.0 };
    out.extra.push(("mem_per_queued", format!("{:.2}", per)));
}

/// A hop carries the sender of the fresh oneshot the reply goes back on.
struct Hop(oneshot::Sender<Hop>);

/// Two tasks on one thread (current_thread runtime); every hop creates a
/// fresh oneshot, sends its Sender across the previous one and awaits its
/// Receiver.  ops = hops (two per round trip).
fn pingpong_oneshot(rt: &Runtime, n: u64) -> Outcome {
    let rounds = n / 2;
    rt.block_on(async move {
        let (to_b, from_a) = oneshot::channel::<Hop>();
        let m = Meter::start();
        let b = tokio::spawn(async move {
            let mut from_a = from_a;
            let mut hops = 0u64;
            while let Ok(Hop(reply)) = from_a.await {
                let (tx, rx) = oneshot::channel::<Hop>();
                if reply.send(Hop(tx)).is_err() {
                    break;
                }
                hops += 1;
                from_a = rx;
            }
            hops
        });
        let a = tokio::spawn(async move {
            let mut to_b = to_b;
            let mut hops = 0u64;
            for _ in 0..rounds {
                let (tx, rx) = oneshot::channel::<Hop>();
                if to_b.send(Hop(tx)).is_err() {
                    break;
                }
                hops += 1;
                match rx.await {
                    Ok(Hop(next)) => to_b = next,
                    Err(_) => break,
                }
            }
            hops
            // to_b drops here: B's await fails and B ends.
        });
        let ha = a.await.unwrap();
        let hb = b.await.unwrap();
        let out = Outcome::new(2 * rounds, &m);
        check(ha == rounds && hb == rounds, "pingpong_oneshot hops");
        out
    })
}

/// Two mpsc channels of capacity 1 between two tasks on one thread.
/// ops = hops (two per round trip).
fn pingpong_mpsc(rt: &Runtime, n: u64) -> Outcome {
    let rounds = n / 2;
    rt.block_on(async move {
        let (tx_ab, mut rx_ab) = mpsc::channel::<u64>(1);
        let (tx_ba, mut rx_ba) = mpsc::channel::<u64>(1);
        let m = Meter::start();
        let b = tokio::spawn(async move {
            let mut hops = 0u64;
            while let Some(v) = rx_ab.recv().await {
                tx_ba.send(v).await.expect("A alive");
                hops += 1;
            }
            hops
        });
        let a = tokio::spawn(async move {
            let mut ok = 0u64;
            for i in 0..rounds {
                tx_ab.send(i).await.expect("B alive");
                if rx_ba.recv().await == Some(i) {
                    ok += 1;
                }
            }
            ok
        });
        let ok = a.await.unwrap();
        let hops = b.await.unwrap();
        let out = Outcome::new(2 * rounds, &m);
        check(ok == rounds && hops == rounds, "pingpong_mpsc hops");
        out
    })
}

/// One counter per receiver on its own cache line.
#[repr(align(128))]
struct Padded(AtomicU64);

const RECEIVERS: usize = 8;

/// 1 sender, 8 receivers, broadcast capacity 1024, 2 workers; ns per
/// delivery (ops = messages x receivers).  Throttle (the same in every
/// implementation): every 64 messages the sender yields while it is more than
/// capacity-128 messages ahead of the slowest receiver, so no receiver should
/// ever lag; lagged= reports the messages lost to lag (must be 0).
fn broadcast_fanout(rt: &Runtime, n: u64) -> Outcome {
    rt.block_on(async move {
        let (tx, _) = broadcast::channel::<u64>(CAPACITY);
        let got: Arc<Vec<Padded>> = Arc::new((0..RECEIVERS).map(|_| Padded(AtomicU64::new(0))).collect());
        let mut rxs: Vec<broadcast::Receiver<u64>> = (0..RECEIVERS).map(|_| tx.subscribe()).collect();
        let m = Meter::start();
        let mut receivers = Vec::with_capacity(RECEIVERS);
        for (r, mut rx) in rxs.drain(..).enumerate() {
            let got = got.clone();
            receivers.push(tokio::spawn(async move {
                let (mut k, mut lagged) = (0u64, 0u64);
                loop {
                    match rx.recv().await {
                        Ok(v) => {
                            black_box(v);
                            k += 1;
                            // Release: pairs with the sender's Acquire load.
                            got[r].0.store(k, Ordering::Release);
                        }
                        Err(broadcast::error::RecvError::Lagged(l)) => lagged += l,
                        Err(broadcast::error::RecvError::Closed) => break,
                    }
                }
                (k, lagged)
            }));
        }
        let sender_got = got.clone();
        let s = tokio::spawn(async move {
            let slack = (CAPACITY - 128) as u64;
            for i in 0..n {
                if i % 64 == 0 {
                    loop {
                        let slowest = sender_got
                            .iter()
                            .map(|g| g.0.load(Ordering::Acquire))
                            .min()
                            .unwrap_or(i);
                        if i - slowest <= slack {
                            break;
                        }
                        tokio::task::yield_now().await;
                    }
                }
                tx.send(i).expect("receivers alive");
            }
            // tx drops: the receivers see Closed after the last message.
        });
        s.await.unwrap();
        let (mut total, mut lagged) = (0u64, 0u64);
        for r in receivers {
            let (k, l) = r.await.unwrap();
            total += k;
            lagged += l;
        }
        let mut out = Outcome::new(n * RECEIVERS as u64, &m);
        check(total + lagged == n * RECEIVERS as u64, "broadcast_fanout deliveries");
        out.extra.push(("lagged", lagged.to_string()));
        out
    })
}

const READERS: usize = 4;

/// 1 writer, 4 readers, tokio::sync::watch, 2 workers.  The writer sends n
/// updates; each reader borrows the current value in a loop until the writer
/// is done.  Writer and readers all yield to the scheduler every 64
/// iterations, as cooperative tasks must (a writer that never yields keeps
/// the readers queued behind it off the CPU for its whole run).  ns_per_op is per writer update;
/// borrows_per_sec_per_reader is the readers' total borrows over the writer's
/// run, divided by 4.
fn watch_readers(rt: &Runtime, n: u64) -> Outcome {
    rt.block_on(async move {
        let (tx, rx) = watch::channel::<u64>(0);
        let stop = Arc::new(AtomicBool::new(false));
        let m = Meter::start();
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let rx = rx.clone();
            let stop = stop.clone();
            readers.push(tokio::spawn(async move {
                let (mut borrows, mut last) = (0u64, 0u64);
                let mut monotonic = true;
                loop {
                    let v = *rx.borrow();
                    monotonic &= v >= last;
                    last = v;
                    borrows += 1;
                    if borrows % 64 == 0 {
                        // Acquire: pairs with the writer's Release store.
                        if stop.load(Ordering::Acquire) {
                            break;
                        }
                        tokio::task::yield_now().await;
                    }
                }
                (borrows, monotonic)
            }));
        }
        let w = tokio::spawn(async move {
            for i in 1..=n {
                tx.send(i).expect("readers alive");
                if i % 64 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            tx
        });
        let tx = w.await.unwrap();
        let (ns, allocs) = m.stop();
        stop.store(true, Ordering::Release);
        let mut borrows = 0u64;
        let mut monotonic = true;
        for r in readers {
            let (b, mono) = r.await.unwrap();
            borrows += b;
            monotonic &= mono;
        }
        drop(tx);
        check(monotonic && *rx.borrow() == n, "watch_readers values");
        let per_reader = borrows as f64 / READERS as f64 / (ns / 1e9);
        let mut out = Outcome { ops: n, ns, allocs, extra: Vec::new() };
        out.extra.push(("borrows_per_sec_per_reader", format!("{:.0}", per_reader)));
        out
    })
}

const TASKS: u64 = 16;

/// 16 tasks on 2 workers, each n/16 times: lock a tokio::sync::Mutex,
/// increment the counter it guards, unlock.  ns per lock.
fn mutex_contended(rt: &Runtime, n: u64) -> Outcome {
    rt.block_on(async move {
        let mutex = Arc::new(Mutex::new(0u64));
        let per = n / TASKS;
        let m = Meter::start();
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let mutex = mutex.clone();
                tokio::spawn(async move {
                    for _ in 0..per {
                        let mut g = mutex.lock().await;
                        *g += 1;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let out = Outcome::new(n, &m);
        check(*mutex.lock().await == n, "mutex_contended count");
        out
    })
}

/// 16 tasks on 2 workers share 4 permits of a tokio::sync::Semaphore; each
/// acquires n/16 times, increments a shared counter, releases.  ns per
/// acquisition.
fn semaphore_contended(rt: &Runtime, n: u64) -> Outcome {
    rt.block_on(async move {
        let sem = Arc::new(Semaphore::new(4));
        let counter = Arc::new(AtomicU64::new(0));
        let per = n / TASKS;
        let m = Meter::start();
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let sem = sem.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    for _ in 0..per {
                        let permit = sem.acquire().await.expect("semaphore open");
                        counter.fetch_add(1, Ordering::Relaxed);
                        drop(permit);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let out = Outcome::new(n, &m);
        check(counter.load(Ordering::Relaxed) == n && sem.available_permits() == 4, "semaphore_contended count");
        out
    })
}

/// One consumer in tokio::select! over 2 bounded(1024) mpsc channels, each
/// fed by its own producer (n/2 messages each), 2 workers.  ns per message.
fn select_2chan(rt: &Runtime, n: u64) -> Outcome {
    rt.block_on(async move {
        let (tx1, mut rx1) = mpsc::channel::<u64>(CAPACITY);
        let (tx2, mut rx2) = mpsc::channel::<u64>(CAPACITY);
        let per = n / 2;
        let m = Meter::start();
        let p1 = tokio::spawn(async move {
            for i in 0..per {
                tx1.send(i).await.expect("consumer alive");
            }
        });
        let p2 = tokio::spawn(async move {
            for i in 0..per {
                tx2.send(i).await.expect("consumer alive");
            }
        });
        let c = tokio::spawn(async move {
            let (mut k1, mut k2) = (0u64, 0u64);
            let (mut open1, mut open2) = (true, true);
            loop {
                tokio::select! {
                    v = rx1.recv(), if open1 => match v {
                        Some(v) => { black_box(v); k1 += 1; }
                        None => open1 = false,
                    },
                    v = rx2.recv(), if open2 => match v {
                        Some(v) => { black_box(v); k2 += 1; }
                        None => open2 = false,
                    },
                    else => break,
                }
            }
            (k1, k2)
        });
        p1.await.unwrap();
        p2.await.unwrap();
        let (k1, k2) = c.await.unwrap();
        let out = Outcome::new(n, &m);
        check(k1 == per && k2 == per, "select_2chan count");
        out
    })
}

/// Two tasks on one thread ping-pong through two tokio::sync::Notify
/// (notify_one stores a permit when nobody waits, so no wake-up is lost).
/// ops = hops (two per round trip).
fn notify_pingpong(rt: &Runtime, n: u64) -> Outcome {
    let rounds = n / 2;
    rt.block_on(async move {
        let to_a = Arc::new(Notify::new());
        let to_b = Arc::new(Notify::new());
        let m = Meter::start();
        let b = {
            let (to_a, to_b) = (to_a.clone(), to_b.clone());
            tokio::spawn(async move {
                for _ in 0..rounds {
                    to_b.notified().await;
                    to_a.notify_one();
                }
            })
        };
        let a = tokio::spawn(async move {
            for _ in 0..rounds {
                to_b.notify_one();
                to_a.notified().await;
            }
        });
        a.await.unwrap();
        b.await.unwrap();
        Outcome::new(2 * rounds, &m)
    })
}

/// Plain OS threads on tokio's blocking_send / blocking_recv (no runtime),
/// mpsc bounded 1024.
fn tokio_thread_spsc(n: u64) -> Outcome {
    let (tx, mut rx) = mpsc::channel::<u64>(CAPACITY);
    let m = Meter::start();
    let p = std::thread::spawn(move || {
        for i in 0..n {
            tx.blocking_send(i).expect("receiver alive");
        }
    });
    let c = std::thread::spawn(move || {
        let mut k = 0u64;
        while let Some(v) = rx.blocking_recv() {
            black_box(v);
            k += 1;
        }
        k
    });
    p.join().unwrap();
    let k = c.join().unwrap();
    let out = Outcome::new(n, &m);
    check(k == n, "thread_blocking_spsc count");
    out
}

/// Plain OS threads on crossbeam-channel bounded(1024) send / recv.
fn crossbeam_thread_spsc(n: u64) -> Outcome {
    let (tx, rx) = crossbeam_channel::bounded::<u64>(CAPACITY);
    let m = Meter::start();
    let p = std::thread::spawn(move || {
        for i in 0..n {
            tx.send(i).expect("receiver alive");
        }
    });
    let c = std::thread::spawn(move || {
        let mut k = 0u64;
        while let Ok(v) = rx.recv() {
            black_box(v);
            k += 1;
        }
        k
    });
    p.join().unwrap();
    let k = c.join().unwrap();
    let out = Outcome::new(n, &m);
    check(k == n, "thread_blocking_spsc count");
    out
}

/// Create and drop a bounded mpsc channel of capacity 16 and a oneshot;
/// ns per pair.  No runtime is needed to create channels.
fn create_drop(n: u64) -> Outcome {
    let m = Meter::start();
    for _ in 0..n {
        let ch = black_box(mpsc::channel::<u64>(16));
        let os = black_box(oneshot::channel::<u64>());
        drop(ch);
        drop(os);
    }
    Outcome::new(n, &m)
}

/// Resident set size in bytes, from /proc/self/statm (second field, pages).
fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .expect("statm resident field");
    // The kernel's page size; 4096 on every machine this bench targets.
    let page = unsafe { libc_sysconf_pagesize() };
    pages * page
}

extern "C" {
    fn sysconf(name: i32) -> i64;
}

unsafe fn libc_sysconf_pagesize() -> u64 {
    const SC_PAGESIZE: i32 = 30; // _SC_PAGESIZE on Linux (glibc and musl)
    let p = sysconf(SC_PAGESIZE);
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

/// A million bounded mpsc channels of capacity 16 alive at once (sender and
/// receiver of each kept).  bytes_per_channel = RSS growth / n, where the
/// vector holding the handles is allocated and touched before the first RSS
/// reading, so the figure is the channels' own memory.  ns per creation.
/// Then one message passes through each channel (untimed) and the growth is
/// read again: bytes_per_channel_after_one.
fn idle_channels(n: u64) -> Outcome {
    type Pair = (mpsc::Sender<u64>, mpsc::Receiver<u64>);
    let mut held: Vec<Pair> = Vec::with_capacity(n as usize);
    unsafe {
        // Touch every page of the holder now, so its memory is in the
        // baseline and not counted as the channels'.
        std::ptr::write_bytes(held.as_mut_ptr() as *mut u8, 0, held.capacity() * std::mem::size_of::<Pair>());
    }
    let before = rss_bytes();
    let m = Meter::start();
    for _ in 0..n {
        held.push(mpsc::channel::<u64>(16));
    }
    let (ns, allocs) = m.stop();
    let after = rss_bytes();
    black_box(&held);
    check(held.len() as u64 == n, "idle_channels count");
    let per = after.saturating_sub(before) as f64 / n as f64;
    let mut out = Outcome { ops: n, ns, allocs, extra: Vec::new() };
    out.extra.push(("bytes_per_channel", format!("{:.1}", per)));
    for (i, (tx, rx)) in held.iter_mut().enumerate() {
        check(tx.try_send(i as u64).is_ok(), "idle_channels send");
        check(rx.try_recv() == Ok(i as u64), "idle_channels receive");
    }
    let used = rss_bytes();
    black_box(&held);
    let per_used = used.saturating_sub(before) as f64 / n as f64;
    out.extra.push(("bytes_per_channel_after_one", format!("{:.1}", per_used)));
    // Dropping a million channels is not part of the figure: leave it to exit.
    std::mem::forget(held);
    out
}
