//! `degu ADDRESS METHOD URI [-H 'name: value']... [--data TEXT | --data-file F |
//! --chunk [KEY=VALUE:]DATA ...] [-v] [--tls] [--ca F] [--cert F --key F]
//! [--server-name NAME]`: make one request and print the response.
//!
//! TLS is on with `--tls` or any of `--ca`, `--cert`, `--server-name`: the server is
//! verified against `--ca` (or the system roots), `--cert`/`--key` present a client
//! certificate, `--server-name` sets the name checked (needed for AF_UNIX).
//!
//! Prints the status line, the headers, an empty line and the body. A chunked body is
//! printed chunk by chunk as `[<size>; <key>=<value>] <data>`, the last chunk as
//! `[0]` (with its extension if it has one). `-v` first prints the request head sent,
//! each line prefixed with `> `. `--chunk` sends a chunked body, one chunk per option;
//! an empty DATA (`--chunk end=1:`) sets the extension of the last chunk.

use degu_core::engine::{Pump, Response};
use degu_core::{ChunkExt, Framing, Header, Method};
use degu_std::blocking::{BlockingReader, Wait};
use degu_std::{Address, BodyExt, Client, TlsClientConfig};
use embassy_futures::join::join;
use std::io::Write;
use std::process::ExitCode;

const USAGE: &str = "usage: degu ADDRESS METHOD URI [-H 'name: value']... \
[--data TEXT | --data-file F | --chunk [KEY=VALUE:]DATA ...] [-v] \
[--tls] [--ca FILE] [--cert FILE --key FILE] [--server-name NAME]";

/// One chunk to send: optional `(key, value)` extension and data.
type Chunk = (Option<(String, String)>, Vec<u8>);

enum Body {
    None,
    Bytes(Vec<u8>),
    Chunks(Vec<Chunk>),
}

struct Args {
    address: Address,
    method: Method,
    uri: String,
    headers: Vec<(String, String)>,
    body: Body,
    verbose: bool,
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
    let mut verbose = false;
    let mut tls = degu_examples::cli::TlsOptions::default();
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
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
            Long("data-file") => {
                let path = parser.value()?;
                body = Body::Bytes(
                    std::fs::read(&path).map_err(|e| format!("{}: {e}", path.to_string_lossy()))?,
                );
            }
            Long("chunk") => {
                let c = chunk_arg(&parser.value()?.string()?);
                match &mut body {
                    Body::Chunks(list) => list.push(c),
                    _ => body = Body::Chunks(vec![c]),
                }
            }
            Short('v') | Long("verbose") => verbose = true,
            Short('h') | Long("help") => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            Value(v) => positional.push(v.string()?),
            _ => return Err(arg.unexpected()),
        }
    }
    let [address, method, uri]: [String; 3] = positional
        .try_into()
        .map_err(|_| "need ADDRESS METHOD URI")?;
    let address = address.parse().map_err(|e| format!("{e}"))?;
    let method =
        Method::from_token(method.as_bytes()).ok_or("METHOD is GET, HEAD, PUT, POST or DELETE")?;
    let tls = tls.config()?;
    Ok(Args {
        address,
        method,
        uri,
        headers,
        body,
        verbose,
        tls,
    })
}

fn run(args: Args) -> Result<(), String> {
    let headers: Vec<Header<'_>> = args
        .headers
        .iter()
        .map(|(n, v)| Header::new(n, v))
        .collect();
    let client = match args.tls {
        Some(tls) => Client::tls(args.address.clone(), tls),
        None => Client::new(args.address.clone()),
    };
    let mut conn = client
        .connect_blocking()
        .map_err(|e| format!("cannot connect to {}: {e}", args.address))?;
    let out = &mut std::io::stdout().lock();
    if args.verbose {
        let _ = writeln!(out, "> {} {} HTTP/1.1", args.method, args.uri);
        if let Some(h) = client_host(&args.address) {
            let _ = writeln!(out, "> host: {h}");
        }
        for h in &headers {
            let _ = writeln!(out, "> {}: {}", h.name, h.value);
        }
        match &args.body {
            Body::Bytes(b) => {
                let _ = writeln!(out, "> content-length: {}", b.len());
            }
            Body::Chunks(_) => {
                let _ = writeln!(out, "> transfer-encoding: chunked");
            }
            Body::None => {}
        }
        let _ = writeln!(out, ">");
    }
    match &args.body {
        Body::None => print(
            conn.request(args.method, &args.uri, &headers, None).wait(),
            out,
        ),
        Body::Bytes(b) => print(
            conn.request(args.method, &args.uri, &headers, Some(b))
                .wait(),
            out,
        ),
        Body::Chunks(list) => {
            let (last, data): (Vec<_>, Vec<_>) = list.iter().partition(|(_, d)| d.is_empty());
            let chunks: Vec<_> = data
                .iter()
                .map(|(e, d)| (e.as_ref().map(|(k, v)| ChunkExt::new(k, v)), d.as_slice()))
                .collect();
            let last = last
                .last()
                .and_then(|(e, _)| e.as_ref())
                .map(|(k, v)| ChunkExt::new(k, v));
            let exchange = async {
                let (mut body, response) =
                    conn.send(args.method, &args.uri, &headers, Framing::Chunked)?;
                let sending = async {
                    for (ext, data) in &chunks {
                        body.write_chunk(*ext, data).await?;
                    }
                    body.finish(last).await
                };
                // Full duplex: the server may answer before the last chunk is sent.
                let (_sent, response) = join(sending, response.receive()).await;
                response
            };
            print(exchange.wait(), out)
        }
    }
}

/// Print a response: the head, then the body (chunked bodies chunk by chunk, with
/// their extensions).
fn print<P: Pump>(
    response: Result<Response<'_, BlockingReader, P>, degu_core::engine::Error>,
    out: &mut impl Write,
) -> Result<(), String> {
    let fail = |e: degu_core::engine::Error| format!("request failed: {e}");
    let mut response = response.map_err(fail)?;
    let _ = writeln!(out, "HTTP/1.1 {} {}", response.status, response.reason);
    for h in response.headers.iter() {
        let _ = writeln!(out, "{}: {}", h.name, h.value);
    }
    let _ = writeln!(out);
    if response.body.framing() == Framing::Chunked {
        let mut buf = vec![0u8; 1 << 16];
        while let Some(p) = response.body.read_chunk(&mut buf).wait().map_err(fail)? {
            if p.first {
                let _ = write!(out, "[{}", p.chunk_size);
                if let Some(e) = p.ext {
                    let _ = write!(out, "; {}={}", e.key, e.value);
                }
                let _ = write!(out, "]{}", if p.is_end() { "" } else { " " });
            }
            let _ = out.write_all(buf.get(..p.len).unwrap_or(&[]));
            if p.last {
                let _ = writeln!(out);
            }
        }
    } else {
        let body = response.body.read_to_vec().wait().map_err(fail)?;
        let _ = out.write_all(&body);
        if !body.is_empty() && !body.ends_with(b"\n") {
            let _ = writeln!(out);
        }
    }
    Ok(())
}

fn client_host(address: &Address) -> Option<String> {
    address.host_header(80)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("degu: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("degu: {e}");
            ExitCode::FAILURE
        }
    }
}
