//! The transparency log's federation messages ⇄ tlog types: tile requests
//! name tiles by their tlog-tiles paths, one spelling each.

use jaring_proto::pb;

use super::WireError;
use crate::tlog::tile::{TileId, TileKind};

/// Most tiles one `GetTiles` request may name (judging a checkpoint reads
/// a few per tree level).
pub const MAX_TILES_PER_REQUEST: usize = 64;

/// The request for `ids`.
pub fn tiles_request(ids: &[TileId]) -> pb::GetTilesRequest {
    pb::GetTilesRequest { paths: ids.iter().map(TileId::path).collect() }
}

/// The hash tiles a request names.
///
/// # Errors
///
/// [`WireError::Invalid`] for more than [`MAX_TILES_PER_REQUEST`] paths, a
/// path that is not a tlog-tiles path, or an entry bundle (only hash tiles
/// are served to peers).
pub fn tiles_asked(req: &pb::GetTilesRequest) -> Result<Vec<TileId>, WireError> {
    if req.paths.len() > MAX_TILES_PER_REQUEST {
        return Err(WireError::Invalid {
            field: "paths",
            reason: format!("{} tiles asked, at most {MAX_TILES_PER_REQUEST}", req.paths.len()),
        });
    }
    req.paths
        .iter()
        .map(|p| {
            let id = TileId::parse(p).map_err(|e| WireError::Invalid { field: "paths", reason: e.to_string() })?;
            match id.kind {
                TileKind::Hashes(_) => Ok(id),
                TileKind::Entries => {
                    Err(WireError::Invalid { field: "paths", reason: format!("{p}: only hash tiles are served") })
                }
            }
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tile_requests_round_trip_and_refuse_bundles_and_floods() {
        let ids =
            vec![TileId::full(TileKind::Hashes(0), 1234067), TileId { kind: TileKind::Hashes(1), index: 5, width: 17 }];
        let req = tiles_request(&ids);
        assert_eq!(req.paths, vec!["tile/0/x001/x234/067".to_string(), "tile/1/005.p/17".to_string()]);
        assert_eq!(tiles_asked(&req).unwrap(), ids);
        let bundle = pb::GetTilesRequest { paths: vec!["tile/entries/000".into()] };
        assert!(matches!(tiles_asked(&bundle), Err(WireError::Invalid { field: "paths", .. })));
        let odd = pb::GetTilesRequest { paths: vec!["tile/0/0001".into()] };
        assert!(matches!(tiles_asked(&odd), Err(WireError::Invalid { field: "paths", .. })));
        let flood = pb::GetTilesRequest { paths: vec!["tile/0/000".into(); MAX_TILES_PER_REQUEST + 1] };
        assert!(matches!(tiles_asked(&flood), Err(WireError::Invalid { field: "paths", .. })));
    }
}
