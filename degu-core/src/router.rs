//! Static routing on path components, without allocation.
//!
//! A [`Router`] is a `static` table of [`Route`]s; each names the methods it takes, the
//! path [`Segment`]s it matches and a handler value of the app's own type (usually a
//! fieldless enum the app `match`es on). Routing shifts the matched components onto the
//! request's mount, so a [`Segment::Rest`] route (a reverse proxy, a sub-app) sees the
//! remainder.
//!
//! ```
//! use degu_core::router::{Methods, Route, Routed, Router, Segment::*};
//! use degu_core::{Method, PathCursor};
//!
//! #[derive(Clone, Copy, Debug, PartialEq)]
//! enum Api { Hello, Device }
//!
//! static ROUTES: Router<Api> = Router::new(&[
//!     Route::new(Methods::GET.with(Methods::HEAD), &[Exact("hello")], Api::Hello),
//!     Route::new(Methods::ALL, &[Exact("device"), Any, Rest], Api::Device),
//! ]);
//!
//! let mut path = PathCursor::new("/device/qemu/hello");
//! match ROUTES.route(Method::Get, &mut path) {
//!     Routed::Found { handler, params } => {
//!         assert_eq!(*handler, Api::Device);
//!         assert_eq!(params.as_slice(), ["qemu"]);
//!         assert_eq!(path.remaining(), "/hello");
//!     }
//!     _ => unreachable!(),
//! }
//! let mut path = PathCursor::new("/hello");
//! assert!(matches!(
//!     ROUTES.route(Method::Put, &mut path),
//!     Routed::MethodNotAllowed(m) if m == Methods::GET.with(Methods::HEAD)
//! ));
//! ```

use crate::wire::head::Method;
use crate::wire::uri::PathCursor;

/// Most [`Segment::Any`] captures one route may have.
pub const MAX_PARAMS: usize = 8;

/// A set of methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Methods(u8);

impl Methods {
    /// No method.
    pub const NONE: Methods = Methods(0);
    /// `GET`.
    pub const GET: Methods = Methods(1);
    /// `PUT`.
    pub const PUT: Methods = Methods(2);
    /// `POST`.
    pub const POST: Methods = Methods(4);
    /// `HEAD`.
    pub const HEAD: Methods = Methods(8);
    /// `DELETE`.
    pub const DELETE: Methods = Methods(16);
    /// All five methods.
    pub const ALL: Methods = Methods(31);

    /// This set plus `other`.
    pub const fn with(self, other: Methods) -> Methods {
        Methods(self.0 | other.0)
    }

    /// The set holding just `method`.
    pub const fn of(method: Method) -> Methods {
        match method {
            Method::Get => Self::GET,
            Method::Put => Self::PUT,
            Method::Post => Self::POST,
            Method::Head => Self::HEAD,
            Method::Delete => Self::DELETE,
        }
    }

    /// Whether `method` is in the set.
    pub const fn contains(self, method: Method) -> bool {
        self.0 & Self::of(method).0 != 0
    }

    /// The value of an `allow` header for this set, e.g. `GET, HEAD`.
    pub fn allow_value(self) -> heapless::String<32> {
        let mut s = heapless::String::new();
        for m in Method::ALL {
            if self.contains(m) {
                // 5 methods and separators are 28 bytes at most.
                if !s.is_empty() {
                    let _ = s.push_str(", ");
                }
                let _ = s.push_str(m.as_str());
            }
        }
        s
    }
}

/// One step of a route's path pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Segment {
    /// Exactly this component (`""` matches the empty one of a trailing slash).
    Exact(&'static str),
    /// Any one component, captured as a parameter.
    Any,
    /// Everything that remains, including nothing; must be last.
    Rest,
}

/// A route: methods, path pattern, handler.
#[derive(Debug)]
pub struct Route<H> {
    methods: Methods,
    path: &'static [Segment],
    handler: H,
}

impl<H> Route<H> {
    /// A route for `methods` on `path` to `handler`. An empty `path` matches `/`.
    pub const fn new(methods: Methods, path: &'static [Segment], handler: H) -> Self {
        Route {
            methods,
            path,
            handler,
        }
    }
}

/// The outcome of routing a request.
#[derive(Debug)]
pub enum Routed<'a, 'p, H> {
    /// A route matched path and method; its [`Segment::Any`] captures in order.
    Found {
        /// The route's handler.
        handler: &'a H,
        /// The captured components.
        params: heapless::Vec<&'p str, MAX_PARAMS>,
    },
    /// Some route matched the path but none took the method: answer 405 with an
    /// `allow` header listing these.
    MethodNotAllowed(Methods),
    /// No route matched the path.
    NotFound,
}

/// A static routing table.
#[derive(Debug)]
pub struct Router<H: 'static> {
    routes: &'static [Route<H>],
}

impl<H> Router<H> {
    /// A router over `routes`, tried in order.
    pub const fn new(routes: &'static [Route<H>]) -> Self {
        Router { routes }
    }

    /// Route `method` on `path`. When a route is found, the components it matched
    /// are shifted onto the mount (a [`Segment::Rest`] route leaves the rest).
    pub fn route<'p>(&self, method: Method, path: &mut PathCursor<'p>) -> Routed<'_, 'p, H> {
        let mut allowed = Methods::NONE;
        for route in self.routes {
            let mut cursor = *path;
            let Some(params) = matches(route.path, &mut cursor) else {
                continue;
            };
            if route.methods.contains(method) {
                *path = cursor;
                return Routed::Found {
                    handler: &route.handler,
                    params,
                };
            }
            allowed = allowed.with(route.methods);
        }
        if allowed == Methods::NONE {
            Routed::NotFound
        } else {
            Routed::MethodNotAllowed(allowed)
        }
    }
}

fn matches<'p>(
    pattern: &[Segment],
    cursor: &mut PathCursor<'p>,
) -> Option<heapless::Vec<&'p str, MAX_PARAMS>> {
    let mut params = heapless::Vec::new();
    for seg in pattern {
        match seg {
            Segment::Rest => return Some(params),
            Segment::Exact(want) => {
                if cursor.shift()? != *want {
                    return None;
                }
            }
            Segment::Any => params.push(cursor.shift()?).ok()?,
        }
    }
    cursor.components().next().is_none().then_some(params)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::Segment::*;
    use super::*;

    static R: Router<u8> = Router::new(&[
        Route::new(Methods::GET, &[], 0),
        Route::new(Methods::GET, &[Exact("a"), Exact("")], 1),
        Route::new(Methods::PUT.with(Methods::POST), &[Exact("a"), Any], 2),
        Route::new(Methods::GET, &[Exact("a"), Any], 3),
        Route::new(Methods::DELETE, &[Exact("p"), Rest], 4),
    ]);

    fn found(method: Method, uri: &str) -> Option<(u8, usize, heapless::String<64>)> {
        let mut p = PathCursor::new(uri);
        match R.route(method, &mut p) {
            Routed::Found { handler, params } => {
                let mut rest = heapless::String::new();
                rest.push_str(p.remaining()).unwrap();
                Some((*handler, params.len(), rest))
            }
            _ => None,
        }
    }

    #[test]
    fn routes_match_components_in_order() {
        assert_eq!(found(Method::Get, "/").unwrap().0, 0);
        assert_eq!(found(Method::Get, "/a/").unwrap().0, 1);
        assert_eq!(found(Method::Put, "/a/x").unwrap().0, 2);
        assert_eq!(found(Method::Get, "/a/x").unwrap().0, 3);
        assert_eq!(found(Method::Get, "/a"), None);
        assert_eq!(found(Method::Get, "/a/x/y"), None);
        let (h, n, rest) = found(Method::Delete, "/p/q/r/").unwrap();
        assert_eq!((h, n, rest.as_str()), (4, 0, "/q/r/"));
        assert_eq!(found(Method::Delete, "/p").unwrap().2.as_str(), "/");
    }

    #[test]
    fn wrong_method_lists_what_the_path_allows() {
        let mut p = PathCursor::new("/a/x");
        match R.route(Method::Delete, &mut p) {
            Routed::MethodNotAllowed(m) => {
                assert_eq!(m.allow_value().as_str(), "GET, PUT, POST");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(p.remaining(), "/a/x", "a miss leaves the path alone");
        assert!(matches!(
            R.route(Method::Get, &mut PathCursor::new("/zzz")),
            Routed::NotFound
        ));
        assert_eq!(
            Methods::ALL.allow_value().as_str(),
            "GET, PUT, POST, HEAD, DELETE"
        );
    }
}
