//! A TCP listener whose connections a request handler can abort, so that a client gets no
//! HTTP response at all (the `dropResponse` fault).
//!
//! Each accepted connection carries a shared abort flag. Once a handler sets it, every later
//! write on the connection fails, so hyper never sends the response and closes the socket.
//! The client then sees the connection end before a response arrives.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The peer address of a connection and the switch that aborts it.
#[derive(Debug, Clone)]
pub struct ConnectionHandle {
    /// Address of the client.
    pub peer: SocketAddr,
    aborted: Arc<AtomicBool>,
}

impl ConnectionHandle {
    /// Makes every later write on the connection fail, so the pending response is never sent
    /// and the connection closes.
    pub fn abort(&self) {
        self.aborted.store(true, Ordering::SeqCst);
    }
}

impl Connected<IncomingStream<'_, AbortableListener>> for ConnectionHandle {
    fn connect_info(stream: IncomingStream<'_, AbortableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A [`TcpListener`] that hands out [`AbortableStream`]s.
#[derive(Debug)]
pub struct AbortableListener {
    inner: TcpListener,
}

impl AbortableListener {
    /// Wraps a bound listener.
    pub fn new(inner: TcpListener) -> AbortableListener {
        AbortableListener { inner }
    }
}

impl Listener for AbortableListener {
    type Io = AbortableStream;
    type Addr = ConnectionHandle;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, peer)) => {
                    let aborted = Arc::new(AtomicBool::new(false));
                    let io = AbortableStream {
                        inner: stream,
                        aborted: aborted.clone(),
                    };
                    return (io, ConnectionHandle { peer, aborted });
                }
                Err(error) => {
                    // Accept fails on resource exhaustion (for example too many open files),
                    // and retrying at once would spin, so wait briefly.
                    tracing::warn!(%error, "failed to accept a connection, retrying in 50 ms");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(ConnectionHandle {
            peer: self.inner.local_addr()?,
            aborted: Arc::new(AtomicBool::new(false)),
        })
    }
}

/// A TCP stream whose writes fail once its connection is aborted.
#[derive(Debug)]
pub struct AbortableStream {
    inner: TcpStream,
    aborted: Arc<AtomicBool>,
}

impl AbortableStream {
    fn check(&self) -> io::Result<()> {
        if self.aborted.load(Ordering::SeqCst) {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "connection aborted by a dropResponse fault",
            ));
        }
        Ok(())
    }
}

impl AsyncRead for AbortableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for AbortableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
