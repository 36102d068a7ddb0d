//! `degu ADDRESS METHOD URI [options]`: make one request with Degu's client; the
//! response body goes to stdout (or `-o FILE`), as curl does.
//!
//! * `-i` puts the response head (as it came, CRLF lines) before the body on stdout;
//!   `-v` prints the request head (`> `) and the response head (`< `) on stderr.
//! * `-d TEXT` sends TEXT; `-T FILE` (`--data-file`) streams FILE from disk in
//!   [`PIECE`]-byte pieces, never holding it in memory; `--chunk` sends a chunked body,
//!   one chunk per option.
//! * The request body goes out while the response is read (degu-core's full-duplex
//!   client): a server that answers early (404, 413) is heard at once, and the rest of
//!   the upload is dropped.
//! * `--fail` makes a 4xx or 5xx answer exit with [`EXIT_HTTP_ERROR`] without writing
//!   its body; `--chunks` shows a chunked body chunk by chunk with its extensions.
//! * A progress bar on stderr for transfers of [`PROGRESS_MIN`] bytes or more, when
//!   stderr is a terminal (`indicatif`); `--no-progress` turns it off.

use degu_core::engine::{Error, Pump, Response};
use degu_core::{ChunkExt, Framing, Header, Method};
use degu_examples::cli;
use degu_std::blocking::{BlockingReader, Wait};
use degu_std::{Address, Client, TlsClientConfig};
use embassy_futures::select::{Either, select};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::pin::pin;
use std::process::ExitCode;

/// Bytes read from a `-T` file, and from the response body, per step.
const PIECE: usize = 64 * 1024;
/// Transfers this large (or larger) get a progress bar when stderr is a terminal.
const PROGRESS_MIN: u64 = 4 * 1024 * 1024;
/// Exit code of a transport or usage-of-files failure.
const EXIT_FAILURE: u8 = 1;
/// Exit code of a 4xx or 5xx answer under `--fail` (curl's).
const EXIT_HTTP_ERROR: u8 = 22;

const USAGE: &str = "usage: degu ADDRESS METHOD URI [-H 'name: value']... \
[-d TEXT | -T FILE | --chunk [KEY=VALUE:]DATA ...] [-o FILE] [-i] [-v] [--fail] [--chunks] \
[--no-progress] [--tls] [--ca FILE] [--cert FILE --key FILE] [--server-name NAME]";

const HELP: &str = concat!(
    "degu ",
    env!("CARGO_PKG_VERSION"),
    ": make one HTTP/1.1 request with Degu's client; the response body goes to
stdout (or -o FILE), byte for byte.

usage: degu ADDRESS METHOD URI [-H 'name: value']... [-d TEXT | -T FILE |
            --chunk [KEY=VALUE:]DATA ...] [-o FILE] [-i] [-v] [--fail] [--chunks]
            [--no-progress] [--tls] [--ca FILE] [--cert FILE --key FILE]
            [--server-name NAME]

arguments:
  ADDRESS                  127.0.0.1:8080, [::1]:8080, [fe80::1%eth0]:8080,
                           /run/degu.sock or @abstract-name
  METHOD                   GET, HEAD, PUT, POST or DELETE
  URI                      the request target, /path?query

options:
  -H, --header 'NAME: VALUE'
                           send this header, repeatable
                           e.g. degu 127.0.0.1:8080 GET /hello -H 'accept: text/plain'
  -d, --data TEXT          send TEXT as the body (content-length)
                           e.g. degu 127.0.0.1:8080 PUT /echo --data 'hello'
  -T, --data-file FILE     stream FILE from disk as the body (content-length), while
                           the response is read
                           e.g. degu 127.0.0.1:8080 PUT /echo -T firmware.bin -o back.bin
  --chunk [KEY=VALUE:]DATA send a chunked body, one chunk per option, with an optional
                           chunk extension; an empty DATA sets the last chunk's extension
                           e.g. degu 127.0.0.1:8080 POST /echo --chunk seq=1:one --chunk two --chunk end=1:
  -o, --output FILE        write the body to FILE instead of stdout
                           e.g. degu 127.0.0.1:8080 GET /files/big.bin -o big.bin
  -i, --include            put the response head before the body on stdout
                           e.g. degu -i 127.0.0.1:8080 GET /hello
  -v, --verbose            print the request head (> ) and response head (< ) on stderr
                           e.g. degu -v 127.0.0.1:8080 GET /hello
  -f, --fail               a 4xx or 5xx answer: no body written, exit code 22
                           e.g. degu --fail 127.0.0.1:8080 GET /missing || echo failed
  --chunks                 show a chunked body chunk by chunk: [<size>; <key>=<value>] <data>
                           e.g. degu --chunks 127.0.0.1:8080 GET '/chunks?n=3'
  --no-progress            no progress bar (one is drawn on a terminal's stderr for
                           transfers of 4 MiB or more)
                           e.g. degu --no-progress 127.0.0.1:8080 GET /files/big.bin -o big.bin
  --tls                    TLS, verified against the system roots
                           e.g. degu --tls example.org:443 GET /
  --ca FILE                TLS, verified against this CA (PEM)
                           e.g. degu --ca ca.pem 127.0.0.1:8443 GET /hello
  --cert FILE              present this client certificate (PEM); needs --key
                           e.g. degu --ca ca.pem --cert client.pem --key client.key 127.0.0.1:8443 GET /hello
  --key FILE               the private key of --cert (PEM)
                           e.g. degu --ca ca.pem --cert client.pem --key client.key 127.0.0.1:8443 GET /hello
  --server-name NAME       the name the server's certificate must carry (needed for
                           AF_UNIX addresses)
                           e.g. degu --ca ca.pem --server-name localhost /tmp/tls.sock GET /hello
  -h, --help               print this help
                           e.g. degu --help
  -V, --version            print the version
                           e.g. degu --version

exit codes: 0 answered (any status without --fail), 1 no answer (connect, TLS, I/O,
protocol errors, files), 2 bad arguments, 22 a 4xx/5xx answer with --fail.
"
);

/// One chunk to send: optional `(key, value)` extension and data.
type Chunk = (Option<(String, String)>, Vec<u8>);

/// The request body, as the options chose it.
enum Body {
    None,
    Bytes(Vec<u8>),
    /// Streamed from disk; its length is taken when the request starts.
    File(PathBuf),
    Chunks(Vec<Chunk>),
}

struct Args {
    address: Address,
    method: Method,
    uri: String,
    headers: Vec<(String, String)>,
    body: Body,
    output: Option<PathBuf>,
    include: bool,
    verbose: bool,
    fail: bool,
    chunks: bool,
    progress: bool,
    tls: Option<TlsClientConfig>,
}

fn chunk_arg(arg: &str) -> Chunk {
    if let Some((ext, data)) = arg.split_once(':')
        && let Some((k, v)) = ext.split_once('=')
        && ChunkExt::new(k, v).is_valid()
    {
        return (
            Some((k.to_string(), v.to_string())),
            data.as_bytes().to_vec(),
        );
    }
    (None, arg.as_bytes().to_vec())
}

fn parse_args() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut positional = Vec::new();
    let mut headers = Vec::new();
    let mut body = Body::None;
    let (mut output, mut include, mut verbose, mut fail, mut chunks, mut progress) =
        (None, false, false, false, false, true);
    let mut tls = cli::TlsOptions::default();
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        cli::answer_help_or_version(&arg, "degu", HELP);
        match arg {
            Long(o @ ("tls" | "ca" | "cert" | "key" | "server-name")) => {
                let o = o.to_string();
                tls.set(&o, &mut parser)?;
            }
            Short('H') | Long("header") => {
                let h = parser.value()?.string()?;
                let (n, v) = h.split_once(':').ok_or("a header is 'name: value'")?;
                headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
            Short('d') | Long("data") => body = Body::Bytes(parser.value()?.string()?.into_bytes()),
            Short('T') | Long("data-file") => body = Body::File(parser.value()?.into()),
            Long("chunk") => {
                let c = chunk_arg(&parser.value()?.string()?);
                match &mut body {
                    Body::Chunks(list) => list.push(c),
                    _ => body = Body::Chunks(vec![c]),
                }
            }
            Short('o') | Long("output") => output = Some(parser.value()?.into()),
            Short('i') | Long("include") => include = true,
            Short('v') | Long("verbose") => verbose = true,
            Short('f') | Long("fail") => fail = true,
            Long("chunks") => chunks = true,
            Long("no-progress") => progress = false,
            Value(v) => positional.push(v.string()?),
            _ => return Err(arg.unexpected()),
        }
    }
    let [address, method, uri]: [String; 3] = positional
        .try_into()
        .map_err(|_| "need ADDRESS METHOD URI")?;
    let address = cli::address(&address)?;
    let method =
        Method::from_token(method.as_bytes()).ok_or("METHOD is GET, HEAD, PUT, POST or DELETE")?;
    let tls = tls.config()?;
    Ok(Args {
        address,
        method,
        uri,
        headers,
        body,
        output,
        include,
        verbose,
        fail,
        chunks,
        progress,
        tls,
    })
}

/// Why `degu` did not succeed, and the exit code that says so.
enum Failure {
    /// No answer, or no whole one: connect, TLS, I/O or protocol errors, files.
    Transfer(String),
    /// A 4xx or 5xx answer under `--fail`.
    Http(u16, String),
}

impl Failure {
    fn code(&self) -> u8 {
        match self {
            Failure::Transfer(_) => EXIT_FAILURE,
            Failure::Http(..) => EXIT_HTTP_ERROR,
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Transfer(format!("request failed: {e}"))
    }
}

/// A progress bar on stderr, drawn only when stderr is a terminal, progress is wanted,
/// and the transfer is (or becomes) at least [`PROGRESS_MIN`] bytes.
struct Progress {
    wanted: bool,
    total: Option<u64>,
    done: u64,
    bar: Option<ProgressBar>,
    what: &'static str,
}

impl Progress {
    fn new(wanted: bool, total: Option<u64>, what: &'static str) -> Self {
        Progress {
            wanted: wanted && std::io::stderr().is_terminal(),
            total,
            done: 0,
            bar: None,
            what,
        }
    }

    fn add(&mut self, n: usize) {
        self.done += n as u64;
        if self.bar.is_none() && self.wanted && self.total.unwrap_or(self.done) >= PROGRESS_MIN {
            let bar = ProgressBar::with_draw_target(self.total, ProgressDrawTarget::stderr());
            let template = match self.total {
                Some(_) => "{msg} {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} {eta}",
                None => "{msg} {spinner} {bytes} {binary_bytes_per_sec}",
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            bar.set_message(self.what);
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_position(self.done);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn run(args: Args) -> Result<(), Failure> {
    let headers: Vec<Header<'_>> = args
        .headers
        .iter()
        .map(|(n, v)| Header::new(n, v))
        .collect();
    let mut file = match &args.body {
        Body::File(path) => {
            let f = File::open(path)
                .map_err(|e| Failure::Transfer(format!("{}: {e}", path.display())))?;
            let len = f
                .metadata()
                .map_err(|e| Failure::Transfer(format!("{}: {e}", path.display())))?
                .len();
            Some((f, len))
        }
        _ => None,
    };
    let framing = match (&args.body, &file) {
        (Body::Bytes(b), _) => Framing::Length(b.len() as u64),
        (Body::File(_), Some((_, len))) => Framing::Length(*len),
        (Body::Chunks(_), _) => Framing::Chunked,
        _ => Framing::None,
    };
    let client = match args.tls.clone() {
        Some(tls) => Client::tls(args.address.clone(), tls),
        None => Client::new(args.address.clone()),
    };
    let mut conn = client
        .connect_blocking()
        .map_err(|e| Failure::Transfer(format!("cannot connect to {}: {e}", args.address)))?;
    if args.verbose {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "> {} {} HTTP/1.1", args.method, args.uri);
        if let Some(h) = args.address.host_header(80) {
            let _ = writeln!(err, "> host: {h}");
        }
        for h in &headers {
            let _ = writeln!(err, "> {}: {}", h.name, h.value);
        }
        match framing {
            Framing::Length(n) => {
                let _ = writeln!(err, "> content-length: {n}");
            }
            Framing::Chunked => {
                let _ = writeln!(err, "> transfer-encoding: chunked");
            }
            Framing::None => {}
        }
        let _ = writeln!(err, ">");
    }

    let exchange = async {
        let (mut body, pending) = conn.send(args.method, &args.uri, &headers, framing)?;
        let sending = async {
            match &args.body {
                Body::None => {}
                Body::Bytes(b) => body.write(b).await?,
                Body::File(path) => {
                    let Some((f, len)) = file.as_mut() else {
                        return Ok(());
                    };
                    let mut progress = Progress::new(args.progress, Some(*len), "sent");
                    let mut piece = vec![0u8; PIECE];
                    loop {
                        let n = f
                            .read(&mut piece)
                            .map_err(|e| Failure::Transfer(format!("{}: {e}", path.display())))?;
                        if n == 0 {
                            break;
                        }
                        body.write(piece.get(..n).unwrap_or(&[])).await?;
                        progress.add(n);
                    }
                }
                Body::Chunks(list) => {
                    let mut last = None;
                    for (ext, data) in list {
                        let ext = ext.as_ref().map(|(k, v)| ChunkExt::new(k, v));
                        if data.is_empty() {
                            last = ext;
                        } else {
                            body.write_chunk(ext, data).await?;
                        }
                    }
                    return Ok(body.finish(last).await?);
                }
            }
            // A file that shrank while it was sent leaves the body short: an error.
            Ok::<(), Failure>(body.finish(None).await?)
        };
        let receiving = async {
            let response = pending.receive().await?;
            output(response, &args).await
        };
        let (mut sending, mut receiving) = (pin!(sending), pin!(receiving));
        match select(sending.as_mut(), receiving.as_mut()).await {
            // The request is out (or could not go on: the answer may still come).
            Either::First(sent) => match (receiving.await, sent) {
                (Err(Failure::Transfer(_)), Err(not_sent)) => Err(not_sent),
                (received, Err(Failure::Transfer(e))) if args.verbose => {
                    eprintln!("* request body not sent whole: {e}");
                    received
                }
                (received, _) => received,
            },
            // Answered before the request was all sent: the rest is dropped.
            Either::Second(received) => {
                if args.verbose {
                    eprintln!("* answered before the request body was all sent");
                }
                received
            }
        }
    };
    exchange.wait()
}

/// Write a response: its head (stderr with `-v`, stdout with `-i`), then its body to
/// stdout or the `-o` file, as a chunk view with `--chunks`.
async fn output<P: Pump>(
    mut response: Response<'_, BlockingReader, P>,
    args: &Args,
) -> Result<(), Failure> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", response.status, response.reason);
    for h in response.headers.iter() {
        head.push_str(&format!("{}: {}\r\n", h.name, h.value));
    }
    head.push_str("\r\n");
    if args.verbose {
        let mut err = std::io::stderr().lock();
        for line in head.split_terminator("\r\n") {
            let _ = match line {
                "" => writeln!(err, "<"),
                line => writeln!(err, "< {line}"),
            };
        }
    }
    if args.fail && response.status >= 400 {
        return Err(Failure::Http(response.status, response.reason.to_string()));
    }
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            File::create(path)
                .map_err(|e| Failure::Transfer(format!("{}: {e}", path.display())))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let write_failed = |e: std::io::Error| Failure::Transfer(format!("cannot write the body: {e}"));
    if args.include {
        out.write_all(head.as_bytes()).map_err(write_failed)?;
    }
    let mut progress = Progress::new(args.progress, response.body.content_length(), "received");
    let mut buf = vec![0u8; PIECE];
    if args.chunks && response.body.framing() == Framing::Chunked {
        while let Some(p) = response.body.read_chunk(&mut buf).await? {
            let mut view = Vec::new();
            if p.first {
                view.extend_from_slice(format!("[{}", p.chunk_size).as_bytes());
                if let Some(e) = p.ext {
                    view.extend_from_slice(format!("; {}={}", e.key, e.value).as_bytes());
                }
                view.extend_from_slice(if p.is_end() { b"]" } else { b"] " });
            }
            view.extend_from_slice(buf.get(..p.len).unwrap_or(&[]));
            if p.last {
                view.push(b'\n');
            }
            out.write_all(&view).map_err(write_failed)?;
            progress.add(p.len);
        }
    } else {
        loop {
            let n = response.body.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            out.write_all(buf.get(..n).unwrap_or(&[]))
                .map_err(write_failed)?;
            progress.add(n);
        }
    }
    out.flush().map_err(write_failed)
}

fn main() -> ExitCode {
    let args = match cli::args_or_usage("degu", USAGE, parse_args()) {
        Ok(a) => a,
        Err(code) => return code,
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            match &failure {
                Failure::Transfer(e) => eprintln!("degu: {e}"),
                Failure::Http(status, reason) => {
                    eprintln!("degu: the server answered {status} {reason}")
                }
            }
            ExitCode::from(failure.code())
        }
    }
}
