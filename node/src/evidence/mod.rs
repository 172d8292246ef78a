//! Evidence packages (`.jrev`): one self-contained file about one value,
//! for an investigator or a court, that verifies offline with nothing but
//! the file.
//!
//! A package holds every assertion's signed envelope about the value
//! exactly as this node received it, every feedback envelope about it
//! (takedown cases, sightings, referrals), the identity cards of every
//! origin involved (and the key events that introduced keys the cards do
//! not list), this node's audit entries about the value, and a manifest
//! signed by this node that lists every item with its SHA-256. The layout
//! is documented in `docs/evidence.md` so a forensic tool can check it
//! independently.
//!
//! - [`format`]: the layout, the manifest, and [`format::PackageBuilder`]
//!   (bytes in, bytes out: no I/O).
//! - [`verify`]: [`verify::verify`] checks every signature against the
//!   included cards and the manifest, and says who asserted what and when;
//!   any edited byte makes it fail naming the item.
//!
//! Each envelope's manifest entry has an `inclusion_proof` slot, `null`
//! for now, for the envelope's proof of inclusion in this node's
//! transparency log (issue 20).

pub mod format;
pub mod verify;

pub use format::{
    EVIDENCE_TYPE, FORMAT, ItemType, LayoutError, MAGIC, Manifest, ManifestItem, PackageBuilder, Subject,
};
pub use verify::{ItemError, ItemReport, Report, verify};
