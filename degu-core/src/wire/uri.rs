//! Origin-form request-targets: `/path[?query]`, split and checked with the Python
//! original's rules.
//!
//! * The path starts with `/`; `/` alone has no components, `/foo/` has `["foo", ""]`.
//! * No empty component (`//`) except one trailing; no `..` component; components use
//!   the path class (no `%`: percent-encoding is not accepted in paths).
//! * The query is everything after the first `?`: absent (`None`) differs from empty
//!   (`Some("")`); it uses the query class (no `/` or `?`).

use crate::error::ParseError;
use crate::wire::class;

/// A request-target split at its first `?`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Target<'a> {
    /// The path, starting with `/`.
    pub path: &'a str,
    /// The query: `None` when there is no `?`, `Some("")` when the target ends with `?`.
    pub query: Option<&'a str>,
}

impl<'a> Target<'a> {
    /// Split `uri` at its first `?` without checking anything.
    pub fn split(uri: &'a str) -> Self {
        match split_at_byte(uri, b'?') {
            Some((path, query)) => Target {
                path,
                query: Some(query),
            },
            None => Target {
                path: uri,
                query: None,
            },
        }
    }

    /// Split and check `uri` as a Degu origin-form target.
    pub fn parse(uri: &'a str) -> Result<Self, ParseError> {
        if uri.len() > crate::limits::MAX_URI_LEN {
            return Err(ParseError::UriTooLong);
        }
        if !uri.bytes().all(class::is_uri) {
            return Err(ParseError::BadUri);
        }
        let target = Target::split(uri);
        target.check()?;
        Ok(target)
    }

    /// Check path and query against Degu's rules.
    pub fn check(&self) -> Result<(), ParseError> {
        check_path(self.path)?;
        match self.query {
            Some(q) if !q.bytes().all(class::is_query) => Err(ParseError::BadQuery),
            _ => Ok(()),
        }
    }

    /// Bytes this target takes on the wire.
    pub fn wire_len(&self) -> usize {
        self.path.len() + self.query.map_or(0, |q| q.len() + 1)
    }

    /// The path components: `/` has none, `/a/` has `a` and `""`.
    pub fn components(&self) -> Components<'a> {
        Components::new(self.path)
    }
}

impl core::fmt::Display for Target<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.path)?;
        if let Some(q) = self.query {
            f.write_str("?")?;
            f.write_str(q)?;
        }
        Ok(())
    }
}

fn check_path(path: &str) -> Result<(), ParseError> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(ParseError::BadUri);
    };
    if rest.is_empty() {
        return Ok(());
    }
    let mut parts = Components { rest: Some(rest) };
    while let Some(part) = parts.next() {
        let last = parts.rest.is_none();
        if part.is_empty() {
            if !last {
                return Err(ParseError::BadPath);
            }
        } else if part == ".." || !part.bytes().all(class::is_path) {
            return Err(ParseError::BadPath);
        }
    }
    Ok(())
}

/// `s` split around the first `byte` (ASCII), which neither half keeps.
///
/// A plain byte loop rather than `str::split_once`: targets and their components are a
/// few bytes long, where core's searcher costs more than it saves (callgrind: about half
/// a round trip's routing instructions), and on a device it is smaller code.
fn split_at_byte(s: &str, byte: u8) -> Option<(&str, &str)> {
    let i = s.bytes().position(|b| b == byte)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// Iterator over the components of a checked path (see [`Target::components`]).
#[derive(Clone, Debug)]
pub struct Components<'a> {
    rest: Option<&'a str>,
}

impl<'a> Components<'a> {
    fn new(path: &'a str) -> Self {
        let rest = path.strip_prefix('/').filter(|r| !r.is_empty());
        Components { rest }
    }
}

impl<'a> Iterator for Components<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match split_at_byte(rest, b'/') {
            Some((head, tail)) => {
                self.rest = Some(tail);
                Some(head)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// A path split into mounted (already routed) and remaining components, as routers and
/// reverse proxies walk it with [`PathCursor::shift`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PathCursor<'a> {
    path: &'a str,
    /// Byte offset in `path` of the `/` that starts the remaining part.
    split: usize,
    /// Whether every component has been shifted.
    exhausted: bool,
}

impl<'a> PathCursor<'a> {
    /// A cursor with nothing mounted.
    pub fn new(path: &'a str) -> Self {
        PathCursor {
            path,
            split: 0,
            exhausted: path.len() <= 1,
        }
    }

    /// Move the next component from the remaining path to the mount; `None` when the
    /// path is exhausted.
    pub fn shift(&mut self) -> Option<&'a str> {
        if self.exhausted {
            return None;
        }
        let rest = self.path.get(self.split + 1..)?;
        match split_at_byte(rest, b'/') {
            Some((component, _)) => {
                self.split += 1 + component.len();
                Some(component)
            }
            None => {
                self.split = self.path.len();
                self.exhausted = true;
                Some(rest)
            }
        }
    }

    /// The mounted part: `""` before any shift, else `/a/b`.
    pub fn mount(&self) -> &'a str {
        self.path.get(..self.split).unwrap_or("")
    }

    /// The remaining part as a path for another server: `/` when nothing remains,
    /// otherwise `/`-prefixed, trailing slash kept (`["foo", ""]` is `/foo/`).
    pub fn remaining(&self) -> &'a str {
        if self.exhausted {
            "/"
        } else {
            self.path.get(self.split..).unwrap_or("/")
        }
    }

    /// Components not yet shifted.
    pub fn components(&self) -> Components<'a> {
        if self.exhausted {
            Components { rest: None }
        } else if self.split == 0 {
            Components::new(self.path)
        } else {
            // Past a shift the remaining part always has at least one component, even
            // when it is the empty one of a trailing slash.
            Components {
                rest: self.path.get(self.split + 1..),
            }
        }
    }

    /// Components already shifted.
    pub fn mounted(&self) -> Components<'a> {
        Components::new(self.mount())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn comps(uri: &str) -> heapless::Vec<&str, 16> {
        Target::parse(uri).unwrap().components().collect()
    }

    #[test]
    fn components_follow_the_python_original() {
        assert!(comps("/").is_empty());
        assert_eq!(comps("/foo").as_slice(), ["foo"]);
        assert_eq!(comps("/foo/").as_slice(), ["foo", ""]);
        assert_eq!(comps("/foo/bar").as_slice(), ["foo", "bar"]);
        assert_eq!(comps("/a/./b").as_slice(), ["a", ".", "b"]);
    }

    #[test]
    fn query_absent_is_not_query_empty() {
        assert_eq!(Target::parse("/a").unwrap().query, None);
        assert_eq!(Target::parse("/a?").unwrap().query, Some(""));
        assert_eq!(Target::parse("/?a=b").unwrap().query, Some("a=b"));
    }

    #[test]
    fn shifting_moves_components_to_the_mount() {
        let mut c = PathCursor::new("/a/b/");
        assert_eq!(c.remaining(), "/a/b/");
        assert_eq!(c.shift(), Some("a"));
        assert_eq!(c.mount(), "/a");
        assert_eq!(c.remaining(), "/b/");
        assert_eq!(c.shift(), Some("b"));
        assert_eq!(c.remaining(), "/");
        assert_eq!(
            c.components().collect::<heapless::Vec<_, 2>>().as_slice(),
            [""]
        );
        assert_eq!(c.shift(), Some(""));
        assert_eq!(c.remaining(), "/");
        assert_eq!(c.shift(), None);
        assert_eq!(c.mount(), "/a/b/");

        let mut root = PathCursor::new("/");
        assert_eq!(root.shift(), None);
        assert_eq!(root.remaining(), "/");

        let mut one = PathCursor::new("/x");
        assert_eq!(one.shift(), Some("x"));
        assert_eq!(one.remaining(), "/");
        assert_eq!(one.components().count(), 0);
    }
}
