//! A monitor's history (SPEC §6): its logs by time range, paged, and its
//! uptime over a window. Both read the logs by monitor and minute
//! ([`Index::MonitorLogsAt`]), one hour of minutes per range read, so a page
//! costs what it returns (plus at most an hour's logs), not the monitor's
//! whole history. Reading needs `user` ([`Action::ReadLogs`]).

use super::{Eyrie, allow};
use crate::clock::Timestamp;
use crate::error::Result;
use crate::ids::{MonitorId, MonitorLogId};
use crate::model::{MonitorLog, MonitorState};
use crate::permission::{Action, Actor};
use crate::storage::{Index, Versioned};
use crate::validate::ValidationError;

/// Logs in one page, at most.
pub const MAX_LOG_PAGE: usize = 1_000;

/// Which logs to read: written in `[from, to]`, after `after`, at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogQuery {
    /// The earliest instant, inclusive.
    pub from: Timestamp,
    /// The latest instant, inclusive.
    pub to: Timestamp,
    /// Where the previous page ended ([`LogPage::next`]).
    pub after: Option<LogCursor>,
    /// Logs in the page, 1..=[`MAX_LOG_PAGE`].
    pub limit: usize,
}

impl LogQuery {
    /// The first page of up to `limit` logs written in `[from, to]`.
    pub fn between(from: Timestamp, to: Timestamp, limit: usize) -> Self {
        LogQuery { from, to, after: None, limit }
    }

    /// The page after `cursor`.
    pub fn after(mut self, cursor: LogCursor) -> Self {
        self.after = Some(cursor);
        self
    }
}

/// A position in a monitor's history: the last log of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LogCursor {
    /// When it was written.
    pub at: Timestamp,
    /// Its id (ties at the same instant go by id).
    pub id: MonitorLogId,
}

/// One page of logs, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPage {
    /// The logs.
    pub logs: Vec<MonitorLog>,
    /// The cursor of the next page, when there may be more.
    pub next: Option<LogCursor>,
}

/// Results in a window, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Uptime {
    /// `ok` results.
    pub ok: u64,
    /// `warning` results (up, but slow or near a limit).
    pub warning: u64,
    /// `error` results.
    pub error: u64,
    /// `unknown` results (no verdict; not counted either way).
    pub unknown: u64,
}

impl Uptime {
    /// Up results (`ok` and `warning`) over results with a verdict; `None` without any.
    pub fn ratio(&self) -> Option<f64> {
        let judged = self.ok + self.warning + self.error;
        (judged > 0).then(|| (self.ok + self.warning) as f64 / judged as f64)
    }
}

impl Eyrie {
    /// Reads `[from, to]` of a monitor's logs, a bounded number of minutes at a time, calling `visit` in time order until it says stop.
    async fn walk_logs(
        &self,
        id: MonitorId,
        from: Timestamp,
        to: Timestamp,
        mut visit: impl FnMut(MonitorLog) -> bool,
    ) -> Result<()> {
        let mut start = from;
        while start <= to {
            let end = Timestamp(start.as_millis().saturating_add(3_600_000 - 1)).min(to);
            let (lo, hi) = (Index::monitor_log_parent(id, start), Index::monitor_log_parent(id, end));
            let mut logs: Vec<MonitorLog> = self
                .store
                .list_between(Index::MonitorLogsAt(lo), Index::MonitorLogsAt(hi))
                .await?
                .into_iter()
                .filter_map(|s| Versioned::<MonitorLog>::from_stored(s).map(|v| v.value))
                .filter(|l| l.monitor_id == id && l.at >= start && l.at <= end)
                .collect();
            logs.sort_by_key(|l| (l.at, l.id));
            for log in logs {
                if !visit(log) {
                    return Ok(());
                }
            }
            start = Timestamp(end.as_millis().saturating_add(1));
            if end == to {
                break;
            }
        }
        Ok(())
    }

    /// One page of a monitor's logs written in `[from, to]`, oldest first.
    pub async fn monitor_logs(&self, actor: Actor, id: MonitorId, query: LogQuery) -> Result<LogPage> {
        let actor = self.identify(actor).await?;
        if query.limit == 0 || query.limit > MAX_LOG_PAGE {
            return Err(ValidationError::field("limit", query.limit, "must be 1 to 1000").into());
        }
        let principal = actor;
        let named = crate::storage::RecordKey::new(crate::storage::EntityKind::Monitor, id.0);
        let monitor = self.store_fetch_monitor(id).await?;
        let da = self.deployment_access(principal, monitor.deployment_id).await.map_err(super::as_seen(named))?;
        allow(principal, Action::ReadLogs, &da.resource())?;
        let from = query.after.map_or(query.from, |c| c.at.max(query.from));
        let mut logs = Vec::new();
        let mut more = false;
        self.walk_logs(id, from, query.to, |log| {
            if query.after.is_some_and(|c| (log.at, log.id) <= (c.at, c.id)) {
                return true;
            }
            if logs.len() == query.limit {
                more = true;
                return false;
            }
            logs.push(log);
            true
        })
        .await?;
        let next = more.then(|| logs.last().map(|l| LogCursor { at: l.at, id: l.id })).flatten();
        Ok(LogPage { logs, next })
    }

    /// Results of a monitor over the `window_seconds` before now (24 h,
    /// 30 days, at most 366 days), by outcome.
    pub async fn monitor_uptime(&self, actor: Actor, id: MonitorId, window_seconds: u64) -> Result<Uptime> {
        let actor = self.identify(actor).await?;
        if window_seconds == 0 || window_seconds > 366 * 86_400 {
            return Err(ValidationError::field("window_seconds", window_seconds, "must be 1 s to 366 days").into());
        }
        let named = crate::storage::RecordKey::new(crate::storage::EntityKind::Monitor, id.0);
        let monitor = self.store_fetch_monitor(id).await?;
        let da = self.deployment_access(actor, monitor.deployment_id).await.map_err(super::as_seen(named))?;
        allow(actor, Action::ReadLogs, &da.resource())?;
        let to = self.now();
        let from = Timestamp(to.as_millis().saturating_sub(i64::try_from(window_seconds * 1000).unwrap_or(i64::MAX)));
        let mut uptime = Uptime::default();
        self.walk_logs(id, from, to, |log| {
            match log.state {
                MonitorState::Ok => uptime.ok += 1,
                MonitorState::Warning => uptime.warning += 1,
                MonitorState::Error => uptime.error += 1,
                MonitorState::Unknown => uptime.unknown += 1,
            }
            true
        })
        .await?;
        Ok(uptime)
    }

    async fn store_fetch_monitor(&self, id: MonitorId) -> Result<crate::model::Monitor> {
        use crate::storage::StoreExt;
        Ok(self.store.fetch::<crate::model::Monitor>(id.0).await?.value)
    }
}
