//! When a capture may have happened, judged against when its packet was received.
//!
//! A station signs whatever time its clock (or its operator) claims, so a capture time is
//! only believable inside a window around the one time the DC witnessed itself: the
//! object's `last_modified` in the store (the `received_time` of `packets`). The policy:
//!
//! - a capture may not end later than received + [`CaptureWindow::max_clock_skew`]
//!   (`CAPTURE_IN_FUTURE`): a capture cannot be uploaded before it happened, and a future date
//!   would, for instance, make an under-17 resident *wajib KTP*;
//! - a capture may not start earlier than received − [`CaptureWindow::max_upload_delay`]
//!   (`CAPTURE_TOO_OLD`): service points upload within days, so an old date is a back-dated
//!   packet (or a backlog that needs an explicitly widened window);
//! - a retired station's packets are accepted only when received no later than its
//!   `active_to` + [`CaptureWindow::retirement_grace`] (`STATION_RETIRED`), so a retired —
//!   possibly lost — station key cannot sign packets back-dated into its active period.
//!
//! Re-running ingest never re-judges a recorded packet, so changing the window affects only
//! packets not yet recorded.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use packet::{Manifest, ReasonCode, Rejection};

/// The capture-time policy of an ingest run (defaults: 15 minutes, 30 days, 14 days).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaptureWindow {
    /// How far a station's clock may run ahead of the store's.
    pub max_clock_skew: Duration,
    /// The longest time from capture to upload that is accepted.
    pub max_upload_delay: Duration,
    /// How long after a station's retirement its last packets may still arrive.
    pub retirement_grace: Duration,
}

impl Default for CaptureWindow {
    /// 15 minutes of clock skew (stations synchronise by NTP when online); 30 days of upload
    /// delay (mobile enrollment in remote regencies uploads in batches); 14 days of grace
    /// after a station is retired (its queue drains within days).
    fn default() -> CaptureWindow {
        CaptureWindow {
            max_clock_skew: Duration::minutes(15),
            max_upload_delay: Duration::days(30),
            retirement_grace: Duration::days(14),
        }
    }
}

impl CaptureWindow {
    /// A window from whole units, as the CLI flags give them.
    pub fn from_units(
        max_clock_skew_minutes: u32,
        max_upload_delay_days: u32,
        retirement_grace_days: u32,
    ) -> CaptureWindow {
        CaptureWindow {
            max_clock_skew: Duration::minutes(i64::from(max_clock_skew_minutes)),
            max_upload_delay: Duration::days(i64::from(max_upload_delay_days)),
            retirement_grace: Duration::days(i64::from(retirement_grace_days)),
        }
    }

    /// Checks the manifest's capture times against the time the packet was received.
    pub fn check(&self, m: &Manifest, received: DateTime<Utc>) -> Result<(), Rejection> {
        if m.capture_ended_at.with_timezone(&Utc) > received + self.max_clock_skew {
            return Err(Rejection::new(
                ReasonCode::CaptureInFuture,
                format!(
                    "the capture ended after the packet was received (more than {} minutes of clock skew)",
                    self.max_clock_skew.num_minutes()
                ),
            ));
        }
        if m.capture_started_at.with_timezone(&Utc) < received - self.max_upload_delay {
            return Err(Rejection::new(
                ReasonCode::CaptureTooOld,
                format!(
                    "the capture started more than {} days before the packet was received",
                    self.max_upload_delay.num_days()
                ),
            ));
        }
        Ok(())
    }

    /// Whether a packet received at `received` comes too long after a retirement at
    /// `active_to`.
    pub fn received_after_retirement(
        &self,
        active_to: DateTime<FixedOffset>,
        received: DateTime<Utc>,
    ) -> bool {
        received > active_to.with_timezone(&Utc) + self.retirement_grace
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_is_measured_from_retirement_to_receipt() {
        let w = CaptureWindow::default();
        let retired = DateTime::parse_from_rfc3339("2026-11-01T17:00:00+07:00").unwrap();
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert!(!w.received_after_retirement(retired, at("2026-11-10T00:00:00Z")));
        assert!(w.received_after_retirement(retired, at("2026-11-16T00:00:00Z")));
    }
}
