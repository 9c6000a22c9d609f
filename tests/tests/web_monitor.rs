//! The web monitor over real loopback sockets: a server fed by a synthetic 440 Hz tap, probed
//! by raw HTTP and by tungstenite clients. Every test runs under a watchdog that ends the
//! process if it hangs.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use auralis::monitor::{
    MonitorConfig, MonitorError, MonitorServer, MonitorStatus, ParamError, ParamsControl,
    StatusSource,
};
use auralis::realtime::{TapProducer, tap_ring};
use auralis::signal::SampleRate;
use auralis_tests::checks::XorShift;
use serde_json::{Value, json};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

const SAMPLE_RATE: u32 = 48_000;
const BLOCK_FRAMES: usize = 480;
const SINE_HZ: f64 = 440.0;
const TOKEN: &str = "test-token-123";

/// Ends the process if the test is still running after `limit`; disarmed by dropping it.
struct Watchdog(#[allow(dead_code)] mpsc::Sender<()>);

fn watchdog(name: &'static str, limit: Duration) -> Watchdog {
    let (disarm, armed) = mpsc::channel::<()>();
    thread::spawn(move || {
        if armed.recv_timeout(limit) == Err(mpsc::RecvTimeoutError::Timeout) {
            eprintln!("{name}: watchdog fired after {limit:?}; the server or a client hangs");
            std::process::exit(101);
        }
    });
    Watchdog(disarm)
}

/// A producer thread pushing a 440 Hz sine into the tap in real time, 10 ms per block, like an
/// audio callback. Stops when dropped.
struct SineTap {
    running: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SineTap {
    fn start(mut tap: TapProducer) -> Self {
        let running = Arc::new(AtomicBool::new(true));
        let flag = running.clone();
        let thread = thread::spawn(move || {
            let start = Instant::now();
            let step = SINE_HZ / f64::from(SAMPLE_RATE);
            let mut phase = 0.0f64;
            let (mut left, mut right) = (vec![0.0f32; BLOCK_FRAMES], vec![0.0f32; BLOCK_FRAMES]);
            let mut block = 0u64;
            while flag.load(Ordering::Relaxed) {
                for (l, r) in left.iter_mut().zip(&mut right) {
                    let sample = (0.5 * (phase * std::f64::consts::TAU).sin()) as f32;
                    (*l, *r) = (sample, -sample);
                    phase = (phase + step).fract();
                }
                tap.push_block(&left, &right);
                block += 1;
                let due = start + Duration::from_millis(10 * block);
                thread::sleep(due.saturating_duration_since(Instant::now()));
            }
        });
        Self {
            running,
            thread: Some(thread),
        }
    }
}

impl Drop for SineTap {
    fn drop(&mut self) {
        self.running.store(false, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A status whose chord the test can change.
struct TestStatus {
    chord: Mutex<String>,
    tempo_bpm: Mutex<f64>,
}

impl TestStatus {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            chord: Mutex::new("Dm9".into()),
            tempo_bpm: Mutex::new(70.0),
        })
    }
}

impl StatusSource for TestStatus {
    fn status(&self) -> MonitorStatus {
        MonitorStatus {
            key: "D".into(),
            scale: "Dorian".into(),
            tempo_bpm: *self.tempo_bpm.lock().unwrap(),
            intensity: 0.5,
            brightness: 0.6,
            space: 0.7,
            seed: 7,
            chord: self.chord.lock().unwrap().clone(),
            renderer: "cpu".into(),
            underruns: 0,
            sample_rate: SAMPLE_RATE,
            following: String::new(),
        }
    }
}

impl ParamsControl for TestStatus {
    fn get(&self) -> Value {
        json!({ "key": "D", "tempo_bpm": *self.tempo_bpm.lock().unwrap() })
    }

    fn put(&self, changes: &Value) -> Result<Value, ParamError> {
        if let Some(tempo) = changes.get("tempo_bpm") {
            let tempo = tempo
                .as_f64()
                .filter(|t| (20.0..=300.0).contains(t))
                .ok_or_else(|| ParamError::new("tempo_bpm", "must be a number from 20 to 300"))?;
            *self.tempo_bpm.lock().unwrap() = tempo;
        }
        Ok(self.get())
    }
}

/// A server on a free loopback port with a sine playing into it.
struct Fixture {
    server: MonitorServer,
    status: Arc<TestStatus>,
    _sine: SineTap,
}

impl Fixture {
    fn start(token: Option<&str>) -> Self {
        Self::start_with(MonitorConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            token: token.map(String::from),
            ..MonitorConfig::default()
        })
    }

    fn start_with(config: MonitorConfig) -> Self {
        let (producer, consumer) = tap_ring(SAMPLE_RATE as usize / 2);
        let status = TestStatus::new();
        let params: Arc<dyn ParamsControl> = status.clone();
        let server = MonitorServer::start(
            config,
            consumer,
            SampleRate::DEFAULT,
            status.clone(),
            Some(params),
        )
        .expect("the server starts on a free loopback port");
        // The producer starts after the server, so packet 0 holds the first frames pushed.
        let sine = SineTap::start(producer);
        Self {
            server,
            status,
            _sine: sine,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.server.local_addr()
    }
}

/// A raw HTTP exchange: sends `request` as is and reads until the server closes.
struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

fn exchange(addr: SocketAddr, request: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    read_reply(&mut stream)
}

fn read_reply(stream: &mut TcpStream) -> Reply {
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Reply {
        status,
        head,
        body: raw[split + 4..].to_vec(),
    }
}

fn get(addr: SocketAddr, path_and_headers: &str) -> Reply {
    let (path, headers) = path_and_headers
        .split_once('\n')
        .unwrap_or((path_and_headers, ""));
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n");
    exchange(addr, request.as_bytes())
}

/// A WebSocket client of `/stream` with a read timeout.
fn listen(addr: SocketAddr, query: &str) -> WebSocket<TcpStream> {
    handshake(TcpStream::connect(addr).unwrap(), addr, query)
}

/// A client whose kernel receive buffer is fixed at 64 KiB instead of autotuned (Linux would
/// let it grow to tens of MiB while the client reads, hiding a slow reader from the server for
/// as long as that takes to fill).
fn listen_with_small_buffer(addr: SocketAddr, query: &str) -> WebSocket<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(64 * 1024).unwrap();
    socket.connect(&addr.into()).unwrap();
    handshake(socket.into(), addr, query)
}

fn handshake(stream: TcpStream, addr: SocketAddr, query: &str) -> WebSocket<TcpStream> {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let (socket, _) = tungstenite::client(format!("ws://{addr}/stream{query}"), stream)
        .expect("the WebSocket handshake succeeds");
    socket
}

/// A packet decoded by hand, following PROTOCOL.md rather than the server's own code.
struct Packet {
    sequence: u64,
    left: Vec<f32>,
    right: Vec<f32>,
}

fn decode_packet(bytes: &[u8]) -> Packet {
    assert!(bytes.len() >= 24, "a packet has a 24-byte header");
    assert_eq!(&bytes[0..4], b"AURL", "magic");
    assert_eq!(bytes[4], 1, "protocol version");
    assert_eq!(bytes[5], 0, "codec PCM16");
    assert_eq!(bytes[6], 2, "stereo");
    let sample_rate = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    let frames = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let sequence = u64::from_le_bytes(bytes[16..24].try_into().unwrap());
    assert_eq!(sample_rate, SAMPLE_RATE);
    assert_eq!(frames, 960, "20 ms per packet");
    assert_eq!(
        bytes.len(),
        24 + frames * 4,
        "payload is frames × 2 channels × 2 bytes"
    );
    let samples: Vec<f32> = bytes[24..]
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
        .collect();
    Packet {
        sequence,
        left: samples.iter().step_by(2).copied().collect(),
        right: samples.iter().skip(1).step_by(2).copied().collect(),
    }
}

/// Reads until `count` audio packets arrived; text messages are returned separately.
fn read_packets(
    socket: &mut WebSocket<TcpStream>,
    count: usize,
) -> (Vec<(Instant, Packet)>, Vec<Value>) {
    let (mut packets, mut texts) = (Vec::new(), Vec::new());
    while packets.len() < count {
        match socket.read().expect("the stream keeps flowing") {
            Message::Binary(bytes) => packets.push((Instant::now(), decode_packet(&bytes))),
            Message::Text(text) => texts.push(serde_json::from_str(&text).expect("JSON text")),
            _ => {}
        }
    }
    (packets, texts)
}

#[test]
fn the_page_its_files_and_status_are_served() {
    let _watchdog = watchdog("page", Duration::from_secs(30));
    let fixture = Fixture::start(None);
    let page = get(fixture.addr(), "/");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        page.header("content-length"),
        Some(page.body.len().to_string().as_str())
    );
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    assert_eq!(
        page.header("cross-origin-opener-policy"),
        Some("same-origin")
    );
    assert_eq!(
        page.header("cross-origin-embedder-policy"),
        Some("require-corp")
    );
    assert!(
        String::from_utf8_lossy(&page.body).contains("<script type=\"module\" src=\"app.js\">")
    );

    for (path, content_type) in [
        ("/app.js", "text/javascript"),
        ("/worklet.js", "text/javascript"),
        ("/style.css", "text/css"),
    ] {
        let asset = get(fixture.addr(), path);
        assert_eq!(asset.status, 200, "{path}");
        assert!(
            asset
                .header("content-type")
                .unwrap()
                .starts_with(content_type),
            "{path}"
        );
        assert!(!asset.body.is_empty(), "{path}");
    }

    let status = get(fixture.addr(), "/status");
    assert_eq!(status.status, 200);
    assert_eq!(status.header("content-type"), Some("application/json"));
    let json = status.json();
    for field in [
        "key",
        "scale",
        "tempo_bpm",
        "intensity",
        "brightness",
        "space",
        "seed",
        "chord",
        "renderer",
        "underruns",
        "sample_rate",
        "listeners",
        "uptime_s",
        "dropped_frames",
        "protocol_version",
    ] {
        assert!(json.get(field).is_some(), "/status lacks {field}: {json}");
    }
    assert_eq!(json["chord"], "Dm9");
    assert_eq!(json["sample_rate"], 48_000);

    assert_eq!(get(fixture.addr(), "/nope").status, 404);
    assert_eq!(
        get(fixture.addr(), "/api/v1/params").status,
        404,
        "no params API without a token"
    );
    let post = exchange(
        fixture.addr(),
        b"POST /status HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(post.status, 405);
    let head = exchange(fixture.addr(), b"HEAD / HTTP/1.1\r\n\r\n");
    assert_eq!((head.status, head.body.len()), (200, 0));
    assert_eq!(
        get(fixture.addr(), "/stream").status,
        426,
        "/stream without an upgrade"
    );
    let flac = get(
        fixture.addr(),
        "/stream?codec=flac\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
    );
    assert_eq!(
        flac.status, 400,
        "an unknown codec is refused before the upgrade"
    );
}

#[test]
fn the_stream_greets_then_plays_the_sine_in_order() {
    let _watchdog = watchdog("stream", Duration::from_secs(30));
    let fixture = Fixture::start(None);
    let mut socket = listen(fixture.addr(), "");
    let Message::Text(hello) = socket.read().unwrap() else {
        panic!("the first message is the JSON hello");
    };
    let hello: Value = serde_json::from_str(&hello).unwrap();
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["protocol_version"], 1);
    assert_eq!(hello["sample_rate"], 48_000);
    assert_eq!(hello["channels"], 2);
    assert_eq!(hello["codec"], "pcm16");
    assert_eq!(hello["status"]["chord"], "Dm9");

    let (packets, _) = read_packets(&mut socket, 50);
    for pair in packets.windows(2) {
        assert_eq!(
            pair[1].1.sequence,
            pair[0].1.sequence + 1,
            "a fast client misses nothing"
        );
    }
    let left: Vec<f32> = packets.iter().flat_map(|(_, p)| p.left.clone()).collect();
    let rms = auralis_checks::rms(&left);
    assert!(
        (0.3..0.4).contains(&rms),
        "a 0.5-amplitude sine has rms 0.35, got {rms}"
    );
    let rising = left
        .windows(2)
        .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
        .count();
    let freq_hz = rising as f64 / (left.len() as f64 / f64::from(SAMPLE_RATE));
    assert!(
        (435.0..445.0).contains(&freq_hz),
        "440 Hz expected, got {freq_hz:.1} Hz"
    );
    let right = &packets[10].1.right;
    assert!(
        right
            .iter()
            .zip(&packets[10].1.left)
            .all(|(r, l)| (r + l).abs() < 1e-3),
        "right is the inverted left"
    );

    // Latency from the tap to this client, for the report: packet n is complete when the
    // producer pushes block 2n+1, (2n+1) × 10 ms after it started.
    let gaps: Vec<f64> = packets
        .windows(2)
        .map(|w| w[1].0.duration_since(w[0].0).as_secs_f64() * 1000.0)
        .collect();
    let max_gap = gaps.iter().copied().fold(0.0, f64::max);
    eprintln!("max gap between packets: {max_gap:.1} ms");
    assert!(
        max_gap < 200.0,
        "packets arrive steadily, max gap {max_gap:.1} ms"
    );
}

#[test]
fn status_changes_reach_listeners_quickly() {
    let _watchdog = watchdog("status changes", Duration::from_secs(30));
    let fixture = Fixture::start(None);
    let mut socket = listen(fixture.addr(), "");
    read_packets(&mut socket, 5);
    *fixture.status.chord.lock().unwrap() = "G13".into();
    let changed = Instant::now();
    loop {
        if let Message::Text(text) = socket.read().unwrap() {
            let message: Value = serde_json::from_str(&text).unwrap();
            if message["type"] == "status" && message["chord"] == "G13" {
                assert_eq!(message["listeners"], 1);
                break;
            }
        }
        assert!(
            changed.elapsed() < Duration::from_secs(1),
            "the chord change arrives within a second"
        );
    }
}

#[test]
fn slow_listeners_are_skipped_then_dropped_while_a_fast_one_keeps_time() {
    let _watchdog = watchdog("slow listeners", Duration::from_secs(60));
    let fixture = Fixture::start(None);
    // One client never reads; one reads at half speed; one keeps up.
    let _stalled = listen_with_small_buffer(fixture.addr(), "");
    let mut half_speed = listen_with_small_buffer(fixture.addr(), "");
    let mut fast = listen(fixture.addr(), "");
    assert_eq!(wait_for_listeners(&fixture.server, 3), 3);

    let half_speed_reader = thread::spawn(move || {
        let (mut previous, mut skipped) = (None, 0u64);
        loop {
            match half_speed.read() {
                Ok(Message::Binary(bytes)) => {
                    let sequence = decode_packet(&bytes).sequence;
                    if let Some(previous) = previous {
                        skipped += sequence - previous - 1;
                    }
                    previous = Some(sequence);
                    thread::sleep(Duration::from_millis(40));
                }
                Ok(Message::Close(frame)) => return (skipped, frame.map(|f| f.reason.to_string())),
                Ok(_) => {}
                Err(_) => return (skipped, None),
            }
        }
    });

    // The fast client reads until the server has given up on both slow ones.
    let started = Instant::now();
    let mut last_arrival = Instant::now();
    let mut last_sequence = None;
    let mut worst_gap = Duration::ZERO;
    let mut first_drop = None;
    while fixture.server.listeners() > 1 {
        if fixture.server.listeners() == 2 {
            first_drop.get_or_insert(started.elapsed());
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "slow listeners are dropped within 30 s"
        );
        if let Message::Binary(bytes) = fast.read().unwrap() {
            let packet = decode_packet(&bytes);
            if let Some(previous) = last_sequence {
                assert_eq!(
                    packet.sequence,
                    previous + 1,
                    "the fast client is never skipped"
                );
            }
            last_sequence = Some(packet.sequence);
            worst_gap = worst_gap.max(last_arrival.elapsed());
            last_arrival = Instant::now();
        }
    }
    let dropped_after = started.elapsed();
    eprintln!(
        "first slow listener dropped after {first_drop:.1?}, both after {dropped_after:.1?}; \
         fast listener's worst gap {worst_gap:.1?}"
    );
    assert!(
        dropped_after < Duration::from_secs(15),
        "dropped after {dropped_after:?}"
    );
    assert!(
        worst_gap < Duration::from_millis(200),
        "the fast client kept time: worst gap {worst_gap:?}"
    );
    read_packets(&mut fast, 10);

    let (skipped, reason) = half_speed_reader.join().unwrap();
    assert!(
        skipped > 0,
        "the half-speed client was skipped ahead before being dropped"
    );
    // The "too slow" close frame arrives if it fitted behind the backlog; otherwise the socket
    // just ends.
    assert!(
        reason.as_deref().is_none_or(|reason| reason == "too slow"),
        "{reason:?}"
    );
}

fn wait_for_listeners(server: &MonitorServer, count: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.listeners() != count && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    server.listeners()
}

#[test]
fn fifty_listeners_all_receive() {
    let _watchdog = watchdog("fifty listeners", Duration::from_secs(60));
    let fixture = Fixture::start(None);
    let addr = fixture.addr();
    let clients: Vec<_> = (0..50)
        .map(|_| {
            thread::spawn(move || {
                let mut socket = listen(addr, "");
                let (packets, texts) = read_packets(&mut socket, 25);
                assert_eq!(
                    texts.first().map(|t| t["type"].clone()),
                    Some(json!("hello"))
                );
                packets
                    .windows(2)
                    .all(|w| w[1].1.sequence == w[0].1.sequence + 1)
            })
        })
        .collect();
    let in_order = clients
        .into_iter()
        .filter(|_| true)
        .map(|c| c.join().unwrap())
        .filter(|ok| *ok)
        .count();
    assert_eq!(
        in_order, 50,
        "every listener got half a second of audio without a gap"
    );
}

#[test]
fn garbage_requests_are_refused_without_blocking_others() {
    let _watchdog = watchdog("garbage", Duration::from_secs(60));
    let fixture = Fixture::start(None);
    let addr = fixture.addr();
    let mut listener = listen(addr, "");

    // Slowloris: a request that never finishes, several at once, held open meanwhile.
    let loris: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream
                .write_all(b"GET /status HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            stream
        })
        .collect();
    let loris_started = Instant::now();

    // Random bytes: 400 or a close.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect();
    let mut noise_stream = TcpStream::connect(addr).unwrap();
    noise_stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = noise_stream.write_all(&noise);
    let mut answer = Vec::new();
    let _ = noise_stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 400"),
        "{answer}"
    );

    // Huge headers: 431.
    let huge = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(20_000));
    let mut huge_stream = TcpStream::connect(addr).unwrap();
    huge_stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = huge_stream.write_all(huge.as_bytes());
    assert_eq!(read_reply(&mut huge_stream).status, 431);

    // A broken WebSocket frame on an upgraded connection closes only that connection.
    let mut bad_socket = listen(addr, "");
    // Clients must mask their frames (RFC 6455 5.1); this one does not.
    bad_socket
        .get_mut()
        .write_all(&[0x82, 0x02, 0xab, 0xcd])
        .unwrap();

    // Meanwhile everyone else is served at once.
    let quick = Instant::now();
    assert_eq!(get(addr, "/status").status, 200);
    assert!(
        quick.elapsed() < Duration::from_secs(1),
        "/status answered while slow requests are open"
    );
    read_packets(&mut listener, 25);
    assert_eq!(
        wait_for_listeners(&fixture.server, 1),
        1,
        "only the broken WebSocket was dropped"
    );

    // The slowloris requests are answered 408 after the 5 s request timeout.
    for mut stream in loris {
        let reply = read_reply(&mut stream);
        assert_eq!(reply.status, 408);
    }
    let waited = loris_started.elapsed();
    assert!(
        waited >= Duration::from_secs(4) && waited < Duration::from_secs(8),
        "{waited:?}"
    );
    read_packets(&mut listener, 10);
}

#[test]
fn the_token_guards_every_endpoint_and_enables_the_params_api() {
    let _watchdog = watchdog("token", Duration::from_secs(30));
    let fixture = Fixture::start(Some(TOKEN));
    let addr = fixture.addr();
    assert!(fixture.server.url().ends_with(&format!("/?token={TOKEN}")));

    for path in [
        "/",
        "/app.js",
        "/status",
        "/api/v1/params",
        "/status?token=wrong",
    ] {
        let reply = get(addr, path);
        assert_eq!(reply.status, 401, "{path}");
        assert!(reply.header("www-authenticate").is_some(), "{path}");
    }
    let page = get(addr, &format!("/?token={TOKEN}"));
    assert_eq!(page.status, 200);
    let cookie = page
        .header("set-cookie")
        .expect("the page sets the token cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap();
    assert_eq!(
        get(addr, &format!("/app.js\nCookie: {cookie}\r\n")).status,
        200,
        "the page's files load with the cookie"
    );
    assert_eq!(
        get(addr, &format!("/status\nCookie: {cookie}\r\n")).status,
        401,
        "data needs the token itself"
    );
    assert_eq!(
        get(addr, &format!("/status\nAuthorization: Bearer {TOKEN}\r\n")).status,
        200
    );

    let unauthorized_stream = TcpStream::connect(addr).unwrap();
    assert!(tungstenite::client(format!("ws://{addr}/stream"), unauthorized_stream).is_err());
    let mut socket = listen(addr, &format!("?token={TOKEN}"));
    read_packets(&mut socket, 3);

    let params = get(addr, &format!("/api/v1/params?token={TOKEN}"));
    assert_eq!(
        (params.status, params.json()["tempo_bpm"].clone()),
        (200, json!(70.0))
    );
    let put = |body: &str| {
        let request = format!(
            "PUT /api/v1/params HTTP/1.1\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        exchange(addr, request.as_bytes())
    };
    let changed = put(r#"{"tempo_bpm": 90}"#);
    assert_eq!(
        (changed.status, changed.json()["tempo_bpm"].clone()),
        (200, json!(90.0))
    );
    let rejected = put(r#"{"tempo_bpm": 9000}"#);
    assert_eq!(rejected.status, 422);
    assert_eq!(rejected.json()["field"], "tempo_bpm");
    assert!(
        rejected.json()["error"]
            .as_str()
            .unwrap()
            .contains("20 to 300")
    );
    assert_eq!(put("not json").status, 400);
    assert_eq!(
        get(addr, &format!("/status?token={TOKEN}")).json()["tempo_bpm"],
        90.0
    );
}

#[test]
fn a_public_address_without_a_token_is_refused() {
    let (_producer, consumer) = tap_ring(1024);
    let config = MonitorConfig {
        bind: "0.0.0.0:0".parse().unwrap(),
        ..MonitorConfig::default()
    };
    let result = MonitorServer::start(
        config,
        consumer,
        SampleRate::DEFAULT,
        TestStatus::new(),
        None,
    );
    let error = result.err().expect("refused");
    assert!(matches!(error, MonitorError::TokenRequired { .. }));
    assert!(error.to_string().contains("token"), "{error}");
}

#[test]
fn stop_closes_listeners_and_frees_the_port() {
    let _watchdog = watchdog("stop", Duration::from_secs(30));
    let fixture = Fixture::start(None);
    let addr = fixture.addr();
    let mut socket = listen(addr, "");
    read_packets(&mut socket, 3);
    let Fixture { server, _sine, .. } = fixture;
    let stopping = Instant::now();
    server.stop();
    assert!(
        stopping.elapsed() < Duration::from_millis(1500),
        "stop took {:?}",
        stopping.elapsed()
    );
    let close = loop {
        match socket.read() {
            Ok(Message::Close(frame)) => break frame,
            Ok(_) => {}
            Err(error) => panic!("expected a close frame, got {error}"),
        }
    };
    let close = close.expect("a close frame with a reason");
    assert_eq!(
        (close.code, close.reason.as_str()),
        (CloseCode::Away, "server stopping")
    );
    std::net::TcpListener::bind(addr).expect("the port is free again");
}

/// The status a browser's WebSocket handshake for `path` gets, sent from a page at `origin`
/// to the server by the name `host`.
fn upgrade_status(addr: SocketAddr, path: &str, origin: &str, host: &str) -> u16 {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    // A 101 keeps the connection open: read the status line's code only.
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).unwrap();
    String::from_utf8_lossy(&head[9..12]).parse().unwrap()
}

/// A GET as a browser page at `origin` sends it, with the token every way it can.
fn get_from(addr: SocketAddr, path: &str, origin: &str, host: &str) -> u16 {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\n\
         Cookie: auralis_token=s3cret\r\nAuthorization: Bearer s3cret\r\n\r\n"
    );
    exchange(addr, request.as_bytes()).status
}

#[test]
fn pages_of_other_sites_are_refused_even_with_the_token() {
    let _watchdog = watchdog("origin", Duration::from_secs(30));
    let fixture = Fixture::start(Some("s3cret"));
    let addr = fixture.addr();
    let own = format!("127.0.0.1:{}", addr.port());
    let own_origin = format!("http://{own}");
    let evil = "http://evil.example";
    // The page's own origin may listen and read; another site may not, even holding the
    // token (a leaked link, the cookie), since WebSockets are not covered by CORS.
    assert_eq!(
        upgrade_status(addr, "/stream?token=s3cret", &own_origin, &own),
        101
    );
    assert_eq!(
        upgrade_status(addr, "/stream", &own_origin, &own),
        401,
        "token still needed"
    );
    assert_eq!(
        upgrade_status(addr, "/stream?token=s3cret", evil, &own),
        403
    );
    assert_eq!(get_from(addr, "/status", &own_origin, &own), 200);
    assert_eq!(get_from(addr, "/status", evil, &own), 403);
    assert_eq!(get_from(addr, "/status", "null", &own), 403);
    assert_eq!(get_from(addr, "/api/v1/params", evil, &own), 403);
    let next_port = format!("http://127.0.0.1:{}", addr.port() + 1);
    assert_eq!(get_from(addr, "/", &next_port, &own), 403);
}

#[test]
fn a_name_rebound_to_loopback_is_refused_without_a_token() {
    let _watchdog = watchdog("rebinding", Duration::from_secs(30));
    let fixture = Fixture::start(None);
    let addr = fixture.addr();
    // The attacker's name, pointed at 127.0.0.1, is same-origin with itself: only the name
    // gives it away. With a token there is nothing to gain (the cookie is not sent to that
    // name), so the check guards the open loopback server.
    let rebound = format!("evil.example:{}", addr.port());
    let rebound_origin = format!("http://{rebound}");
    assert_eq!(get_from(addr, "/status", &rebound_origin, &rebound), 403);
    assert_eq!(
        upgrade_status(addr, "/stream", &rebound_origin, &rebound),
        403
    );
    for own in [
        format!("127.0.0.1:{}", addr.port()),
        format!("localhost:{}", addr.port()),
    ] {
        assert_eq!(
            get_from(addr, "/status", &format!("http://{own}"), &own),
            200
        );
        assert_eq!(
            upgrade_status(addr, "/stream", &format!("http://{own}"), &own),
            101
        );
    }
}

#[test]
fn the_listener_limit_is_enforced_and_frees_up() {
    let _watchdog = watchdog("limit", Duration::from_secs(30));
    let fixture = Fixture::start_with(MonitorConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        max_listeners: 3,
        ..MonitorConfig::default()
    });
    let addr = fixture.addr();
    let mut admitted: Vec<_> = (0..3).map(|_| listen(addr, "")).collect();
    for socket in &mut admitted {
        read_packets(socket, 2);
    }
    assert_eq!(wait_for_listeners(&fixture.server, 3), 3);
    let refused = get(
        addr,
        "/stream\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
    );
    assert_eq!(refused.status, 503, "a fourth listener is refused");
    assert!(refused.header("retry-after").is_some());
    admitted.pop().unwrap().close(None).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while fixture.server.listeners() > 2 {
        assert!(
            Instant::now() < deadline,
            "the closed listener was not let go"
        );
        thread::sleep(Duration::from_millis(20));
    }
    let mut newcomer = listen(addr, "");
    read_packets(&mut newcomer, 2);
}

/// Fuzzing of what listeners send: connection after connection sends random text, binary,
/// ping and pong messages and raw bytes that are not WebSocket frames at all. Each may close
/// only its own connection; a listener beside them goes on hearing every packet in order, and
/// the server lets go of every fuzzed connection.
#[test]
fn random_client_messages_close_only_their_own_connection() {
    let _watchdog = watchdog("client fuzz", Duration::from_secs(90));
    let fixture = Fixture::start(None);
    let addr = fixture.addr();

    let running = Arc::new(AtomicBool::new(true));
    let mut good = listen(addr, "");
    let good_reader = {
        let running = running.clone();
        thread::spawn(move || {
            let (mut packets, mut gaps, mut last) = (0u64, 0u64, None::<u64>);
            while running.load(Ordering::Relaxed) {
                let Message::Binary(bytes) = good.read().expect("the good listener is served")
                else {
                    continue;
                };
                let sequence = decode_packet(&bytes).sequence;
                if last.is_some_and(|last| sequence != last + 1) {
                    gaps += 1;
                }
                last = Some(sequence);
                packets += 1;
            }
            (packets, gaps)
        })
    };

    // A data message is against the protocol: the server says so and closes.
    let mut talker = listen(addr, "");
    talker.send(Message::text("hello?")).unwrap();
    let closed_with = loop {
        match talker.read() {
            Ok(Message::Close(frame)) => break frame.map(|f| f.code),
            Ok(_) => {}
            Err(error) => panic!("no close frame before {error}"),
        }
    };
    assert_eq!(closed_with, Some(CloseCode::Policy));
    drop(talker);

    let mut rng = XorShift(0x5eed_f0cc_a11d_ea15);
    for round in 0..80 {
        let mut socket = listen(addr, "");
        for _ in 0..=rng.below(4) {
            let most = if rng.below(4) == 0 { 70_000 } else { 300 };
            let length = rng.below(most) as usize;
            let bytes: Vec<u8> = (0..length).map(|_| rng.next_u64() as u8).collect();
            let control: Vec<u8> = bytes.iter().copied().take(125).collect();
            // A refused message may find the connection closed already: that is the point.
            let _ = match rng.below(5) {
                0 => socket.send(Message::text(String::from_utf8_lossy(&bytes).into_owned())),
                1 => socket.send(Message::binary(bytes)),
                2 => socket.send(Message::Ping(control.into())),
                3 => socket.send(Message::Pong(control.into())),
                _ => socket
                    .get_mut()
                    .write_all(&bytes)
                    .map_err(tungstenite::Error::Io),
            };
        }
        if round % 2 == 1 {
            // Half of them stay a moment and read what the server sends: audio if all they
            // sent was allowed (pings, pongs, small messages), else a close.
            let until = Instant::now() + Duration::from_millis(300);
            while Instant::now() < until && socket.read().is_ok() {}
        }
        drop(socket);
        if round % 20 == 0 {
            assert_eq!(get(addr, "/status").status, 200, "round {round}");
        }
    }
    assert_eq!(
        wait_for_listeners(&fixture.server, 1),
        1,
        "every fuzzed connection was let go; the good listener stays"
    );
    running.store(false, Ordering::Relaxed);
    let (packets, gaps) = good_reader.join().expect("the good listener's thread");
    assert!(packets > 50, "the good listener heard {packets} packets");
    assert_eq!(gaps, 0, "the good listener was skipped ahead");
}
