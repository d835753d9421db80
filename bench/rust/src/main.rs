//! Rust peers of the awaitkit bench (issue 4; protocol in bench/README.md).
//!
//! One binary, installed by build.sh under two names:
//!   bench/out/bin/peer-tokio      every workload, with tokio::sync (impl "tokio")
//!   bench/out/bin/peer-crossbeam  thread_blocking_spsc with crossbeam-channel
//!                                 (impl "crossbeam"); any other workload exits 3
//! The implementation is picked from the program name (argv[0]); `--impl NAME`
//! overrides it.
//!
//! Usage: <binary> <workload> [--size N] [--workers N]
//! One timed run of the workload (after a short warm-up run of the same code
//! in the same runtime, except idle_channels, whose RSS figure a warm-up would
//! spoil), then exactly one line on stdout:
//!   RESULT workload=<name> impl=<impl> ops=<count> ns_per_op=<float>
//!          allocs_per_op=<float> [key=value ...]
//! Exit status: 0 success, 2 usage error, 3 workload not implemented by this
//! implementation, 1 the workload misbehaved (lost or extra messages).
//!
//! ops counts: one message for the channel workloads; one hop (one message
//! one way) for the ping-pong workloads; one delivery (messages x receivers)
//! for broadcast_fanout; one writer update for watch_readers; one lock or one
//! permit acquisition for mutex/semaphore; one channel + oneshot pair for
//! create_drop; one channel for idle_channels.

mod workloads;

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::exit;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Counts every heap allocation (alloc, alloc_zeroed and realloc each count
/// one); allocs_per_op is the delta over the timed section divided by ops.
struct CountingAlloc;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Wall clock and allocation count of a timed section.
pub struct Meter {
    t0: Instant,
    a0: u64,
}

impl Meter {
    pub fn start() -> Meter {
        let a0 = ALLOCATIONS.load(Ordering::Relaxed);
        Meter { t0: Instant::now(), a0 }
    }
    /// (nanoseconds, allocations) since start.
    pub fn stop(&self) -> (f64, u64) {
        let ns = self.t0.elapsed().as_nanos() as f64;
        let a = ALLOCATIONS.load(Ordering::Relaxed) - self.a0;
        (ns, a)
    }
}

/// What one run of a workload measured.
pub struct Outcome {
    pub ops: u64,
    pub ns: f64,
    pub allocs: u64,
    pub extra: Vec<(&'static str, String)>,
}

impl Outcome {
    pub fn new(ops: u64, m: &Meter) -> Outcome {
        let (ns, allocs) = m.stop();
        Outcome { ops, ns, allocs, extra: Vec::new() }
    }
}

/// Stops the program when a workload lost or duplicated work: a figure from
/// a broken run must never reach the table.
pub fn check(ok: bool, what: &str) {
    if !ok {
        eprintln!("peer: workload check failed: {}", what);
        exit(1);
    }
}

/// std::hint::black_box is not stable in Debian's rustc 1.63: the classic
/// volatile-read form keeps the optimizer from removing a value's creation.
#[inline(never)]
pub fn black_box<T>(x: T) -> T {
    unsafe {
        let r = std::ptr::read_volatile(&x);
        std::mem::forget(x);
        r
    }
}

fn usage() -> ! {
    eprintln!("usage: peer-tokio|peer-crossbeam <workload> [--size N] [--workers N] [--impl tokio|crossbeam]");
    eprintln!("workloads: {}", workloads::NAMES.join(" "));
    exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let prog = args
        .get(0)
        .map(|a| a.rsplit('/').next().unwrap_or("").to_string())
        .unwrap_or_default();
    let mut imp = if prog.contains("crossbeam") { "crossbeam" } else { "tokio" }.to_string();
    let mut workload: Option<String> = None;
    let mut size: Option<u64> = None;
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--size" => {
                i += 1;
                size = match args.get(i).and_then(|s| s.parse::<u64>().ok()) {
                    Some(n) if n > 0 => Some(n),
                    _ => usage(),
                };
            }
            "--workers" => {
                i += 1;
                match args.get(i).and_then(|s| s.parse::<usize>().ok()) {
                    Some(n) if n > 0 && n <= 1024 => {
                        workloads::WORKERS.store(n, std::sync::atomic::Ordering::Relaxed)
                    }
                    _ => usage(),
                }
            }
            "--impl" => {
                i += 1;
                imp = match args.get(i) {
                    Some(s) => s.clone(),
                    None => usage(),
                };
            }
            "-h" | "--help" => usage(),
            s if s.starts_with('-') => usage(),
            s => {
                if workload.is_some() {
                    usage();
                }
                workload = Some(s.to_string());
            }
        }
        i += 1;
    }
    let workload = workload.unwrap_or_else(|| usage());
    if !workloads::NAMES.contains(&workload.as_str()) {
        eprintln!("peer: unknown workload {}", workload);
        usage();
    }
    if imp != "tokio" && imp != "crossbeam" {
        usage();
    }

    let out = match workloads::run(&imp, &workload, size) {
        Some(o) => o,
        None => {
            eprintln!("peer: workload {} not implemented by impl {}", workload, imp);
            exit(3);
        }
    };
    let ops = out.ops.max(1) as f64;
    let mut line = format!(
        "RESULT workload={} impl={} ops={} ns_per_op={:.3} allocs_per_op={:.6}",
        workload,
        imp,
        out.ops,
        out.ns / ops,
        out.allocs as f64 / ops
    );
    for (k, v) in &out.extra {
        line.push_str(&format!(" {}={}", k, v));
    }
    println!("{}", line);
}
