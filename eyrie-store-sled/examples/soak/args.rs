//! Command-line options of the soak.

/// What to drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The `Eyrie` service on a typical tenant, over the chosen backend.
    Service,
    /// The chosen backend through the generic `Arc<dyn Store>` API.
    Store,
    /// sled alone: 3-tree transactions and two readers.
    Raw,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Service => "service",
            Mode::Store => "store",
            Mode::Raw => "raw",
        }
    }
}

/// Which `Store` implementation `service` and `store` modes open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sled,
    Redb,
    /// PostgreSQL at `Args::postgres_url`, in a fresh schema per run.
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sled => "sled",
            Backend::Redb => "redb",
            Backend::Postgres => "postgres",
        }
    }
}

/// Parsed options; see the program docs.
#[derive(Debug, Clone)]
pub struct Args {
    pub mode: Mode,
    pub backend: Backend,
    pub secs: u64,
    pub runs: u32,
    pub stall_secs: u64,
    pub readers: Option<usize>,
    pub writers: Option<usize>,
    pub periodic: bool,
    pub flush_every: u64,
    pub iters: u64,
    pub deployments: u64,
    pub child: bool,
    /// The database of `--store postgres <url>`.
    pub postgres_url: Option<String>,
}

impl Args {
    pub fn parse(mut argv: impl Iterator<Item = String>) -> Args {
        let mut args = Args {
            mode: Mode::Service,
            backend: Backend::Sled,
            secs: 20,
            runs: 3,
            stall_secs: 10,
            readers: None,
            writers: None,
            periodic: false,
            flush_every: 0,
            iters: u64::MAX,
            deployments: 150,
            child: false,
            postgres_url: None,
        };
        while let Some(flag) = argv.next() {
            let mut value = || argv.next().unwrap_or_else(|| panic!("{flag} needs a value"));
            let number = |v: String| v.parse::<u64>().unwrap_or_else(|_| panic!("{flag}: not a number: {v}"));
            match flag.as_str() {
                "--mode" => {
                    args.mode = match value().as_str() {
                        "service" => Mode::Service,
                        "store" => Mode::Store,
                        "raw" => Mode::Raw,
                        other => panic!("--mode service|store|raw, not {other}"),
                    }
                }
                "--store" => {
                    args.backend = match value().as_str() {
                        "sled" => Backend::Sled,
                        "redb" => Backend::Redb,
                        "postgres" => {
                            args.postgres_url = Some(value());
                            Backend::Postgres
                        }
                        other => panic!("--store sled|redb|postgres <url>, not {other}"),
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
                "--deployments" => args.deployments = number(value()),
                "--child" => args.child = true,
                other => panic!("unknown option {other}; see the docs at the top of examples/soak.rs"),
            }
        }
        args
    }

    /// What a run is called in reports: `service/redb`, `store/sled`, `raw/sled`.
    pub fn label(&self) -> String {
        let backend = if self.mode == Mode::Raw { Backend::Sled } else { self.backend };
        format!("{}/{}", self.mode.name(), backend.name())
    }

    /// The arguments of a child running one run.
    pub fn child_args(&self) -> Vec<String> {
        let mut out = vec!["--child".to_string(), "--mode".into(), self.mode.name().into()];
        out.extend(["--store".to_string(), self.backend.name().into()]);
        out.extend(self.postgres_url.clone());
        let mut push = |flag: &str, value: String| out.extend([flag.to_string(), value]);
        push("--secs", self.secs.to_string());
        push("--stall-secs", self.stall_secs.to_string());
        push("--flush-every", self.flush_every.to_string());
        push("--iters", self.iters.to_string());
        push("--deployments", self.deployments.to_string());
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
