//! `raw` mode: sled alone, in the pattern of its hang reports (sled issues
//! 1308 and 1412): one thread runs a loop of transactions over three trees,
//! two threads read (prefix scans and point reads) at the same time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sled::Transactional;

use super::args::Args;
use super::watchdog::{self, Progress, Report};

pub fn run(args: &Args) -> Report {
    let label = args.label();
    let progress = Arc::new(Progress::default());
    watchdog::start(&label, progress.clone(), Duration::from_secs(args.stall_secs), true);
    let dir = tempfile::tempdir().unwrap();
    let db = sled::Config::new().path(dir.path()).cache_capacity(64 << 20).open().unwrap();
    let trees: Vec<sled::Tree> = ["records", "index", "unique"].iter().map(|n| db.open_tree(n).unwrap()).collect();
    let deadline = Instant::now() + Duration::from_secs(args.secs);
    let started = Instant::now();
    let mut threads = Vec::new();
    let writers = args.writers.unwrap_or(1);
    // Readers stop when every writer is done (deadline or `--iters`).
    let writing = Arc::new(AtomicUsize::new(writers));
    for w in 0..writers {
        let (db, trees, progress, writing) = (db.clone(), trees.clone(), progress.clone(), writing.clone());
        let (iters, flush_every) = (args.iters, args.flush_every);
        threads.push(std::thread::spawn(move || {
            let (records, index, unique) = (&trees[0], &trees[1], &trees[2]);
            let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ (w as u64 + 1);
            let value = vec![0x5au8; 200];
            let mut i = 0u64;
            while Instant::now() < deadline && i < iters {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let id = (x % 20_000).to_be_bytes();
                let entry = [&(x % 16).to_be_bytes()[..], &id[..]].concat();
                (records, index, unique)
                    .transaction(|(r, ix, u)| {
                        r.insert(&id, value.clone())?;
                        ix.insert(entry.clone(), &[][..])?;
                        u.insert(&id, &id)?;
                        Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
                    })
                    .unwrap();
                i += 1;
                if flush_every > 0 && i.is_multiple_of(flush_every) {
                    db.flush().unwrap();
                }
                progress.writes.fetch_add(1, Ordering::Relaxed);
            }
            writing.fetch_sub(1, Ordering::Release);
        }));
    }
    for r in 0..args.readers.unwrap_or(2) {
        let (trees, progress, writing) = (trees.clone(), progress.clone(), writing.clone());
        threads.push(std::thread::spawn(move || {
            let mut x = 0xd1b5_4a32_d192_ed03u64 ^ (r as u64 + 1);
            while Instant::now() < deadline && writing.load(Ordering::Acquire) > 0 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let prefix = (x % 16).to_be_bytes();
                let entries = trees[1].scan_prefix(prefix).take(20).count();
                let found = trees[0].get((x % 20_000).to_be_bytes()).unwrap().is_some();
                std::hint::black_box((entries, found));
                progress.reads.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in threads {
        t.join().unwrap();
    }
    progress.closing.store(true, Ordering::Release);
    drop(trees);
    drop(db);
    Report::new(&label, &progress, started.elapsed(), false, "")
}
