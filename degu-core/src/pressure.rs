//! Connection pressure: which connection a full server closes to make room for a new one.
//!
//! Every adapter has a bound on open connections: `degu-std` a connection limit (and the
//! process's descriptor limit), `degu-embassy` a fixed number of sockets (smoltcp has no
//! listen backlog, so a device that keeps no socket listening refuses every new client).
//! When the bound is reached, the adapter asks [`victim`] which open connection to close,
//! so that one that matters least makes way for one that may matter more. Both adapters
//! use this one function, so a gateway and a device behave alike under a flood.
//!
//! # The policy
//!
//! A connection is ranked by its [`Phase`] and by how long it has been in it (`since`,
//! the instant it entered that phase), and the first in this order is closed:
//!
//! 1. [`Rank::Closing`]: the engine is done and the connection lingers in its close
//!    (reading what the peer still sends): closing it now loses nothing.
//! 2. [`Rank::Idle`]: silent since it connected, or idle between keep-alive requests, for
//!    at least [`FRESH`]. Nothing is lost but a later request's handshake.
//! 3. [`Rank::Head`]: part of a request head has arrived and the rest has not. A real
//!    client's head arrives in milliseconds (usually in one segment), so the head that
//!    has been in progress longest is the slowest one: a trickle.
//! 4. [`Rank::Fresh`]: silent or idle for less than [`FRESH`]: almost always a client
//!    that has just connected and whose request is on its way, or one that has just been
//!    answered. Closed only when nothing else can go.
//!
//! Within a rank the oldest goes first (the earliest `since`). A connection in
//! [`Phase::Busy`] (a request being handled) is never chosen: that is a real client
//! being served, and each of its reads and writes is bounded by a timeout anyway.
//!
//! Under a flood of silent or trickling connections a real client therefore keeps its
//! place: it is fresh while its request travels, then busy.
//!
//! The function reads no clock and knows no socket type: `since` is any ordered instant
//! (`tokio::time::Instant`, `embassy_time::Instant`, a tick count), and the caller says
//! which instant is [`FRESH`] ago.
//!
//! ```
//! use degu_core::engine::Phase;
//! use degu_core::pressure::{Rank, rank, victim};
//!
//! // (key, phase, since in ms); now is 10_000 ms, so fresh means since > 9_000.
//! let conns = [
//!     ("busy", Phase::Busy, 1_000),
//!     ("trickle", Phase::Head, 2_000),
//!     ("keep-alive", Phase::Idle, 5_000),
//!     ("new client", Phase::Idle, 9_990),
//! ];
//! assert_eq!(victim(conns, 9_000), Some("keep-alive"));
//! assert_eq!(victim(conns[..2].iter().copied(), 9_000), Some("trickle"));
//! assert_eq!(rank(Phase::Idle, &9_990, &9_000), Some(Rank::Fresh));
//! assert_eq!(victim([("busy", Phase::Busy, 0)], 9_000), None);
//! ```

use crate::engine::Phase;
use core::time::Duration;

/// How long a connection counts as fresh after it connected or went idle: for this long
/// it is closed only when nothing else can be. A real client sends its request within a
/// round trip of connecting; one second covers slow links and TLS handshakes.
pub const FRESH: Duration = Duration::from_secs(1);

/// Where a connection stands in the eviction order; lower ranks are closed first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Rank {
    /// Already closing (the engine returned; the close lingers).
    Closing,
    /// Silent since it connected, or idle between requests, for at least [`FRESH`].
    Idle,
    /// Inside a request head that has not arrived in full.
    Head,
    /// Silent or idle for less than [`FRESH`].
    Fresh,
}

/// The rank of a connection in `phase` since `since`, where `fresh_since` is the instant
/// [`FRESH`] ago; `None` for a connection that is never closed to make room (a request
/// being handled).
pub fn rank<T: Ord>(phase: Phase, since: &T, fresh_since: &T) -> Option<Rank> {
    match phase {
        Phase::Done => Some(Rank::Closing),
        Phase::Idle if since > fresh_since => Some(Rank::Fresh),
        Phase::Idle => Some(Rank::Idle),
        Phase::Head => Some(Rank::Head),
        Phase::Busy => None,
    }
}

/// The connection to close to make room: the first of `conns` by [`Rank`], then the
/// earliest `since` (ties go to the earlier item); `None` when every connection is busy.
///
/// `conns` are `(key, phase, since)`: `key` is whatever names a connection to the caller
/// (an index, a handle) and comes back for the chosen one; `phase` is the engine's
/// [`Phase`] (from its `Monitor`); `since` is when the connection entered that phase
/// (connected, went idle, or received the first byte of its head). `fresh_since` is the
/// instant [`FRESH`] before now (the earliest instant there is, early after boot).
///
/// Leave out connections already asked to close, or two newcomers may pick the same
/// one. The scan is linear and allocates nothing.
pub fn victim<K, T: Ord>(
    conns: impl IntoIterator<Item = (K, Phase, T)>,
    fresh_since: T,
) -> Option<K> {
    let mut best: Option<(Rank, T, K)> = None;
    for (key, phase, since) in conns {
        let Some(r) = rank(phase, &since, &fresh_since) else {
            continue;
        };
        let better = match &best {
            None => true,
            Some((br, bs, _)) => (r, &since) < (*br, bs),
        };
        if better {
            best = Some((r, since, key));
        }
    }
    best.map(|(_, _, key)| key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 100_000;
    const FRESH_SINCE: u64 = NOW - 1_000;

    fn pick(conns: &[(Phase, u64)]) -> Option<usize> {
        victim(
            conns.iter().enumerate().map(|(i, &(p, s))| (i, p, s)),
            FRESH_SINCE,
        )
    }

    #[test]
    fn nothing_to_close_when_every_connection_is_busy() {
        assert_eq!(pick(&[]), None);
        assert_eq!(pick(&[(Phase::Busy, 1), (Phase::Busy, 2)]), None);
    }

    #[test]
    fn a_closing_connection_goes_first() {
        let conns = [
            (Phase::Idle, 1),
            (Phase::Head, 1),
            (Phase::Done, 50_000),
            (Phase::Busy, 0),
        ];
        assert_eq!(pick(&conns), Some(2));
    }

    #[test]
    fn the_oldest_idle_or_silent_connection_goes_before_any_head() {
        let conns = [
            (Phase::Head, 10),
            (Phase::Idle, 500),
            (Phase::Idle, 300),
            (Phase::Head, 5),
        ];
        assert_eq!(pick(&conns), Some(2));
    }

    #[test]
    fn then_the_slowest_head() {
        let conns = [
            (Phase::Head, 700),
            (Phase::Busy, 1),
            (Phase::Head, 200),
            (Phase::Head, 900),
        ];
        assert_eq!(pick(&conns), Some(2));
    }

    #[test]
    fn a_fresh_connection_is_spared_while_a_head_can_go() {
        // A client that connected a moment ago, beside a trickle that started long
        // before it: the trickle goes.
        let conns = [(Phase::Idle, NOW - 3), (Phase::Head, NOW - 50_000)];
        assert_eq!(pick(&conns), Some(1));
        // Even a head younger than the fresh connection: its request is in progress.
        let conns = [(Phase::Idle, NOW - 900), (Phase::Head, NOW - 3)];
        assert_eq!(pick(&conns), Some(1));
    }

    #[test]
    fn fresh_connections_go_last_and_oldest_first() {
        let conns = [
            (Phase::Busy, 1),
            (Phase::Idle, NOW - 10),
            (Phase::Idle, NOW - 20),
        ];
        assert_eq!(pick(&conns), Some(2));
    }

    #[test]
    fn fresh_means_after_the_cut_off() {
        assert_eq!(
            rank(Phase::Idle, &FRESH_SINCE, &FRESH_SINCE),
            Some(Rank::Idle)
        );
        assert_eq!(
            rank(Phase::Idle, &(FRESH_SINCE + 1), &FRESH_SINCE),
            Some(Rank::Fresh)
        );
        // A head is a head however young.
        assert_eq!(rank(Phase::Head, &NOW, &FRESH_SINCE), Some(Rank::Head));
        assert_eq!(rank(Phase::Busy, &0, &FRESH_SINCE), None);
        assert_eq!(rank(Phase::Done, &NOW, &FRESH_SINCE), Some(Rank::Closing));
    }

    #[test]
    fn ties_go_to_the_earlier_item() {
        let conns = [(Phase::Idle, 7), (Phase::Idle, 7)];
        assert_eq!(pick(&conns), Some(0));
    }

    #[test]
    fn keys_can_be_anything() {
        let conns = [("a", Phase::Head, 3u8), ("b", Phase::Idle, 9u8)];
        assert_eq!(victim(conns, 100), Some("b"));
    }
}
