//! Command-line options of the soak.

/// What to drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A `SledStore` through `Arc<dyn Store>`.
    Store,
    /// sled alone: 3-tree transactions and two readers.
    Raw,
    /// `Store`, then `Raw`.
    Both,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Store => "store",
            Mode::Raw => "raw",
            Mode::Both => "both",
        }
    }
}

/// Parsed options; see the program docs.
#[derive(Debug, Clone)]
pub struct Args {
    pub mode: Mode,
    pub secs: u64,
    pub runs: u32,
    pub stall_secs: u64,
    pub readers: Option<usize>,
    pub writers: Option<usize>,
    pub periodic: bool,
    pub flush_every: u64,
    pub iters: u64,
    pub child: bool,
}

impl Args {
    pub fn parse(mut argv: impl Iterator<Item = String>) -> Args {
        let mut args = Args {
            mode: Mode::Store,
            secs: 20,
            runs: 3,
            stall_secs: 10,
            readers: None,
            writers: None,
            periodic: false,
            flush_every: 0,
            iters: u64::MAX,
            child: false,
        };
        while let Some(flag) = argv.next() {
            let mut value = || argv.next().unwrap_or_else(|| panic!("{flag} needs a value"));
            let number = |v: String| v.parse::<u64>().unwrap_or_else(|_| panic!("{flag}: not a number: {v}"));
            match flag.as_str() {
                "--mode" => {
                    args.mode = match value().as_str() {
                        "store" => Mode::Store,
                        "raw" => Mode::Raw,
                        "both" => Mode::Both,
                        other => panic!("--mode store|raw|both, not {other}"),
                    }
                }
                "--secs" => args.secs = number(value()),
                "--runs" => args.runs = number(value()) as u32,
                "--stall-secs" => args.stall_secs = number(value()),
                "--readers" => args.readers = Some(number(value()) as usize),
                "--writers" => args.writers = Some(number(value()) as usize),
                "--durability" => args.periodic = value() == "periodic",
                "--flush-every" => args.flush_every = number(value()),
                "--iters" => args.iters = number(value()),
                "--child" => args.child = true,
                other => panic!("unknown option {other}; see the docs at the top of examples/soak.rs"),
            }
        }
        args
    }

    /// The arguments of a child running one `mode` run.
    pub fn child_args(&self, mode: Mode) -> Vec<String> {
        let mut out = vec!["--child".to_string(), "--mode".into(), mode.name().into()];
        let mut push = |flag: &str, value: String| out.extend([flag.to_string(), value]);
        push("--secs", self.secs.to_string());
        push("--stall-secs", self.stall_secs.to_string());
        push("--flush-every", self.flush_every.to_string());
        push("--iters", self.iters.to_string());
        push("--durability", if self.periodic { "periodic" } else { "every" }.into());
        if let Some(r) = self.readers {
            push("--readers", r.to_string());
        }
        if let Some(w) = self.writers {
            push("--writers", w.to_string());
        }
        out
    }
}
