//! Certificate validity windows.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

use crate::CertError;

const HOUR: Duration = Duration::from_secs(60 * 60);
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// The window in which a certificate is valid: `not_before ..= not_after`.
///
/// [`Validity::days`] is what tools use; [`Validity::between`] lets tests make
/// expired and not-yet-valid certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    not_before: SystemTime,
    not_after: SystemTime,
}

impl Validity {
    /// Valid from one hour ago (to absorb clock skew between nodes) until
    /// `days` days from now.
    #[must_use]
    pub fn days(days: u32) -> Validity {
        let now = SystemTime::now();
        let not_before = now.checked_sub(HOUR).unwrap_or(now);
        let not_after = now.checked_add(DAY.saturating_mul(days)).unwrap_or(now);
        Validity { not_before, not_after }
    }

    /// Valid from `not_before` to `not_after`, both inclusive.
    ///
    /// # Errors
    ///
    /// [`CertError::InvalidValidity`] if `not_after` is not later than
    /// `not_before`.
    pub fn between(not_before: SystemTime, not_after: SystemTime) -> Result<Validity, CertError> {
        if not_after <= not_before {
            return Err(CertError::InvalidValidity { reason: "not_after must be later than not_before" });
        }
        Ok(Validity { not_before, not_after })
    }

    /// First instant at which the certificate is valid.
    #[must_use]
    pub fn not_before(&self) -> SystemTime {
        self.not_before
    }

    /// Last instant at which the certificate is valid.
    #[must_use]
    pub fn not_after(&self) -> SystemTime {
        self.not_after
    }

    /// The window in the form rcgen wants, whole seconds.
    pub(crate) fn to_offset_date_times(self) -> Result<(OffsetDateTime, OffsetDateTime), CertError> {
        Ok((to_offset(self.not_before)?, to_offset(self.not_after)?))
    }
}

fn to_offset(at: SystemTime) -> Result<OffsetDateTime, CertError> {
    let secs = at
        .duration_since(UNIX_EPOCH)
        .map_err(|_| CertError::InvalidValidity { reason: "dates before 1970 are not supported" })?
        .as_secs();
    let secs = i64::try_from(secs).map_err(|_| CertError::InvalidValidity { reason: "date out of range" })?;
    let at = OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|_| CertError::InvalidValidity { reason: "date out of range" })?;
    // X.509 GeneralizedTime has four year digits.
    if at.year() > 9999 {
        return Err(CertError::InvalidValidity {
            reason: "dates after the year 9999 cannot be written in a certificate",
        });
    }
    Ok(at)
}
