//! The web monitor inside the plugin (in a child process): a WebSocket listener hears what
//! the host plays.

use std::time::{Duration, Instant};

use crate::child::{assert_child_passed, is_child, run_child};
use crate::new_instance;

const MONITOR_SCENARIO: &str = "monitor::monitor_scenario_in_a_child";

/// The monitor (off by default; see the switch's unit tests), switched on by
/// `AURALIS_MONITOR_PORT` (the setting for hosts without a window), streams the plugin's own output while the host plays it. Runs in a
/// child process because the setting is read from the environment when the plugin is created.
#[test]
fn the_web_monitor_inside_the_plugin_streams_what_the_host_plays() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let port_text = std::ffi::OsString::from(port.to_string());
    let run = run_child(
        MONITOR_SCENARIO,
        &[("AURALIS_MONITOR_PORT", port_text.as_os_str())],
        Duration::from_secs(60),
    );
    assert_child_passed(&run, "monitor scenario done");
}

#[test]
#[ignore = "run by the_web_monitor_inside_the_plugin_streams_what_the_host_plays"]
fn monitor_scenario_in_a_child() {
    if !is_child(
        MONITOR_SCENARIO,
        "the_web_monitor_inside_the_plugin_streams_what_the_host_plays",
    ) {
        return;
    }
    let port: u16 = std::env::var("AURALIS_MONITOR_PORT")
        .expect("port")
        .parse()
        .expect("a port number");
    let mut instance = new_instance();
    instance.activate(48_000.0, 512).expect("activate");

    let listener = std::thread::spawn(move || {
        let stream =
            std::net::TcpStream::connect(("127.0.0.1", port)).expect("the monitor listens");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let (mut socket, _) = tungstenite::client(format!("ws://127.0.0.1:{port}/stream"), stream)
            .expect("WebSocket handshake");
        let started = Instant::now();
        let (mut packets, mut loudest) = (0usize, 0i16);
        let mut hello = None;
        while started.elapsed() < Duration::from_secs(3) {
            match socket.read().expect("the stream keeps coming") {
                tungstenite::Message::Binary(bytes) => {
                    let (header, payload) =
                        auralis::monitor::PacketHeader::parse(&bytes).expect("a packet");
                    assert_eq!(header.sample_rate, 48_000);
                    assert_eq!(payload.len(), header.frame_count as usize * 4);
                    for pair in payload.chunks_exact(2) {
                        loudest =
                            loudest.max(i16::from_le_bytes([pair[0], pair[1]]).saturating_abs());
                    }
                    packets += 1;
                }
                tungstenite::Message::Text(text) => {
                    hello.get_or_insert_with(|| text.to_string());
                }
                _ => {}
            }
        }
        (packets, loudest, hello)
    });

    // The host plays in real time: 512-frame blocks, paced by the clock.
    let started = Instant::now();
    let mut played = 0.0;
    while !listener.is_finished() && started.elapsed() < Duration::from_secs(20) {
        let rendered = instance.render(0.05, 512).expect("process");
        played += rendered.seconds();
        let ahead = played - started.elapsed().as_secs_f64();
        if ahead > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(ahead));
        }
    }
    let (packets, loudest, hello) = listener.join().expect("the listener thread");
    println!("monitor in the plugin: {packets} packets, loudest sample {loudest}, hello {hello:?}");
    // 3 s of 20 ms packets is 150; the first second may be lost to connecting and fade-in.
    assert!(packets >= 80, "only {packets} packets in 3 s");
    assert!(
        loudest > 300,
        "the stream is silent (loudest sample {loudest})"
    );
    let hello = hello.expect("a hello message with the status");
    assert!(hello.contains("\"key\":\"D\""), "{hello}");
    drop(instance);
    println!("monitor scenario done");
}
