//! Which objects of `landing/` a run looks at, without listing the country's history.
//!
//! Stations upload to `landing/<site>/<yyyy-mm-dd>/<packet_id>.zip` and packets stay there
//! for ever, so listing all of `landing/` every night costs one LIST request per thousand
//! packets ever enrolled (200,000 a night at national scale). A run instead lists:
//! - the site folders (one delimited LIST of `landing/`),
//! - each site's day folders (one delimited LIST per site),
//! - and the objects of the day folders not older than the *re-scan window* (the day folder's
//!   date ≥ today − [`LandingScan::Recent`]'s days), plus everything that is not in a
//!   dated day folder (it is listed so that it is recorded and rejected, never ignored).
//!
//! The window's default is the capture window's `max_upload_delay` (30 days) plus 2 days: a
//! packet in an older folder claims a capture date that ingest rejects as `CAPTURE_TOO_OLD`
//! anyway, so a late upload that could still be accepted is always found. An object dropped
//! into a folder older than the window is found by a full scan ([`LandingScan::Full`],
//! `--full-scan`), which lists everything as before: run it when widening the capture window
//! for a backlog, and monthly (docs/operations.md).

use chrono::NaiveDate;
use futures::TryStreamExt;
use lake::Store;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore};

/// How much of `landing/` a run lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LandingScan {
    /// Day folders dated no more than this many days before today, and every object outside
    /// a dated day folder.
    Recent {
        /// The re-scan window in days.
        days: u32,
    },
    /// Every object (the history too).
    Full,
}

impl LandingScan {
    /// The default window for a capture window whose upload delay is `max_upload_delay`.
    pub fn for_upload_delay(max_upload_delay: chrono::Duration) -> LandingScan {
        LandingScan::Recent {
            days: (max_upload_delay.num_days().max(0) + 2) as u32,
        }
    }
}

/// What a listing read: the objects to consider, and what it cost.
#[derive(Debug, Default)]
pub struct Listed {
    /// The objects, sorted by path.
    pub objects: Vec<ObjectMeta>,
    /// LIST requests made (a delimited listing counts one per call, a recursive one one per
    /// thousand objects, as S3 pages them).
    pub list_requests: u64,
    /// Day folders left out because they are older than the window.
    pub days_skipped: u64,
}

/// Lists `prefix` (`landing`) as `scan` says, with `today` the DC's date (UTC).
pub async fn list(
    store: &Store,
    prefix: &str,
    scan: LandingScan,
    today: NaiveDate,
) -> lake::Result<Listed> {
    let mut out = Listed::default();
    let LandingScan::Recent { days } = scan else {
        out.objects = store.list(prefix).await?;
        out.list_requests = pages(out.objects.len());
        return Ok(out);
    };
    let oldest = today - chrono::Duration::days(i64::from(days));
    let objects = store.objects();
    let root = Path::from(prefix.trim_matches('/'));
    let top = delimited(objects.as_ref(), &root, &mut out).await?;
    for site in top {
        for day in delimited(objects.as_ref(), &site, &mut out).await? {
            let dated = day
                .filename()
                .and_then(|name| NaiveDate::parse_from_str(name, "%Y-%m-%d").ok());
            match dated {
                Some(date) if date < oldest => out.days_skipped += 1,
                _ => {
                    let found: Vec<ObjectMeta> = objects
                        .list(Some(&day))
                        .try_collect()
                        .await
                        .map_err(lake_err)?;
                    out.list_requests += pages(found.len());
                    out.objects.extend(found);
                }
            }
        }
    }
    out.objects.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(out)
}

/// One delimited listing of `at`: its objects go into `out`, its folders are returned.
async fn delimited(
    objects: &dyn ObjectStore,
    at: &Path,
    out: &mut Listed,
) -> lake::Result<Vec<Path>> {
    let listing = objects
        .list_with_delimiter(Some(at))
        .await
        .map_err(lake_err)?;
    out.list_requests += pages(listing.objects.len() + listing.common_prefixes.len());
    out.objects.extend(listing.objects);
    Ok(listing.common_prefixes)
}

fn pages(n: usize) -> u64 {
    (n.div_ceil(1000)).max(1) as u64
}

fn lake_err(e: object_store::Error) -> lake::LakeError {
    lake::LakeError::from(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[tokio::test]
    async fn only_recent_day_folders_are_listed_and_objects_outside_day_folders_always() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().to_str().unwrap()).unwrap();
        for p in [
            "landing/11.01.01/2026-11-30/a.zip",
            "landing/11.01.01/2026-10-01/old.zip",
            "landing/11.01.01/2026-11-01/edge.zip",
            "landing/11.01.01/not-a-day/x.zip",
            "landing/11.01.01/loose.zip",
            "landing/top.zip",
            "landing/12.02.02/2026-12-01/b.zip",
        ] {
            store.put(p, Bytes::from_static(b"x")).await.unwrap();
        }
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let names = |l: &Listed| -> Vec<String> {
            l.objects.iter().map(|m| m.location.to_string()).collect()
        };
        let recent = list(&store, "landing", LandingScan::Recent { days: 30 }, today)
            .await
            .unwrap();
        assert_eq!(
            names(&recent),
            vec![
                "landing/11.01.01/2026-11-01/edge.zip",
                "landing/11.01.01/2026-11-30/a.zip",
                "landing/11.01.01/loose.zip",
                "landing/11.01.01/not-a-day/x.zip",
                "landing/12.02.02/2026-12-01/b.zip",
                "landing/top.zip",
            ]
        );
        assert_eq!(recent.days_skipped, 1);
        let full = list(&store, "landing", LandingScan::Full, today)
            .await
            .unwrap();
        assert_eq!(full.objects.len(), 7);
        assert_eq!(
            LandingScan::for_upload_delay(chrono::Duration::days(30)),
            LandingScan::Recent { days: 32 }
        );
    }
}
