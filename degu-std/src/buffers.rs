//! The server's request buffers: taken from a per-worker pool when a request starts and
//! given back when its connection goes idle, so an idle or silent connection holds none.

use degu_core::engine::{BufferSource, ConnBuffers};
use std::cell::RefCell;
use std::rc::Rc;

use crate::server::BUFFERS_KEPT_PER_WORKER as POOL_KEEP;

/// One worker thread's pool (its connections never leave the thread, hence no lock).
#[derive(Debug)]
pub(crate) struct BufferPool {
    free: RefCell<Vec<Pair>>,
    read: usize,
    write: usize,
}

#[derive(Debug)]
struct Pair {
    read: Box<[u8]>,
    write: Box<[u8]>,
}

impl BufferPool {
    /// A pool of `read` + `write` byte pairs, empty until the first request.
    pub(crate) fn new(read: usize, write: usize) -> Rc<Self> {
        Rc::new(BufferPool {
            free: RefCell::new(Vec::new()),
            read,
            write,
        })
    }

    fn take(&self) -> Pair {
        // Reused buffers keep their old bytes: the engine reads only what it has
        // received into them, never what they held before.
        self.free.borrow_mut().pop().unwrap_or_else(|| Pair {
            read: vec![0; self.read].into_boxed_slice(),
            write: vec![0; self.write].into_boxed_slice(),
        })
    }

    fn give_back(&self, pair: Pair) {
        let mut free = self.free.borrow_mut();
        if free.len() < POOL_KEEP {
            free.push(pair);
        }
    }

    /// Pairs waiting for reuse.
    #[cfg(test)]
    fn spare(&self) -> usize {
        self.free.borrow().len()
    }
}

/// A connection's [`BufferSource`]: leases a pair from its worker's pool.
#[derive(Debug)]
pub(crate) struct PoolSource(pub Rc<BufferPool>);

impl BufferSource for PoolSource {
    type Lease<'a> = Lease<'a>;

    async fn lease(&mut self) -> Lease<'_> {
        Lease {
            pair: Some(self.0.take()),
            pool: &self.0,
        }
    }
}

/// A pair on loan to one connection; back to the pool when dropped.
#[derive(Debug)]
pub(crate) struct Lease<'p> {
    pair: Option<Pair>,
    pool: &'p BufferPool,
}

impl ConnBuffers for Lease<'_> {
    fn split(&mut self) -> (&mut [u8], &mut [u8]) {
        match &mut self.pair {
            Some(p) => (&mut p.read, &mut p.write),
            // Only `drop` takes the pair.
            None => (&mut [], &mut []),
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(pair) = self.pair.take() {
            self.pool.give_back(pair);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::{Context, Poll, Waker};

    /// A lease from the pool is ready at once.
    fn at_once<F: Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("a pool lease waited"),
        }
    }

    #[test]
    fn leases_come_back_and_are_reused_up_to_the_keep_limit() {
        let pool = BufferPool::new(64, 32);
        let mut source = PoolSource(pool.clone());
        let mut a = at_once(source.lease());
        let (r, w) = a.split();
        assert_eq!((r.len(), w.len()), (64, 32));
        r[0] = 7;
        drop(a);
        assert_eq!(pool.spare(), 1);
        let mut b = at_once(source.lease());
        assert_eq!(b.split().0[0], 7, "the same pair again");
        assert_eq!(pool.spare(), 0);
        drop(b);
        // Many connections busy at once, then all idle: only POOL_KEEP pairs stay.
        let mut sources: Vec<PoolSource> = (0..POOL_KEEP + 10)
            .map(|_| PoolSource(pool.clone()))
            .collect();
        let leases: Vec<Lease<'_>> = sources.iter_mut().map(|s| at_once(s.lease())).collect();
        assert_eq!(pool.spare(), 0);
        drop(leases);
        assert_eq!(pool.spare(), POOL_KEEP);
    }
}
