//! The machine the run is on: CPUs, model, kernel, memory and the load average at start.

/// What the report's first table shows.
pub struct Machine {
    pub cpus: usize,
    pub model: String,
    pub kernel: String,
    pub memory_gib: f64,
    pub load_average: String,
}

impl Machine {
    /// Reads `/proc` now.
    pub fn read() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map_or("unknown".to_owned(), |m| m.trim().to_owned());
        let read = |p: &str| {
            std::fs::read_to_string(p)
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        let memory_gib = read("/proc/meminfo")
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
            .map_or(0.0, |k| k / 1024.0 / 1024.0);
        Self {
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            model,
            kernel: read("/proc/sys/kernel/osrelease"),
            memory_gib,
            load_average: read("/proc/loadavg"),
        }
    }
}
