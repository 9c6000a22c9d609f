//! `GET /metrics`: the server's and the engine's counters in the Prometheus text exposition
//! format (version 0.0.4), for Prometheus, `promtool` and anything else that scrapes it.
//!
//! Two kinds of value. What only the monitor sees (listener sessions, bytes sent per codec)
//! lives here as the `prometheus` crate's own counters, bumped by the broadcast thread. What is
//! counted elsewhere (the engine's [`Telemetry`], the listener gauge and the tap's drops in
//! `ServerState`, the status) is read when a scrape comes, into [`Readings`], and turned into metric
//! families on the spot: mirroring those atomics into counters of our own would only add a
//! second copy that can disagree. Either way the crate checks and writes the text.
//!
//! Runs on the request threads and the broadcast thread; never on the audio thread. Each
//! Icecast output adds its series to the `auralis_icecast_*` families, labelled by its URL
//! (without the password), the way `bytes_sent` is labelled by codec.

use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};
use prometheus::{Encoder, IntCounter, IntCounterVec, Opts, Registry, TextEncoder};

use super::icecast::{IcecastState, IcecastTargetReport};
use super::packet::Codec;
use super::response::Response;
use super::state::ServerState;
use super::status::MonitorStatus;
use crate::realtime::Telemetry;
use crate::realtime::telemetry::BLOCK_RENDER_BUCKETS_S;

/// The counters the monitor keeps itself. One per server, in `ServerState`.
pub(super) struct ServerMetrics {
    /// Holds the counters below, for encoding.
    registry: Registry,
    /// `/stream` connections admitted since the server started.
    listener_sessions: IntCounter,
    /// WebSocket payload bytes handed to listeners' sockets, by the listener's codec (audio
    /// packets and the status messages that go with them).
    bytes_sent: IntCounterVec,
}

impl ServerMetrics {
    /// Counters for a server that offers `codecs`. Each codec's series exists from the start
    /// at 0, so a rate over it is defined before its first listener.
    pub fn new(codecs: &[Codec]) -> Self {
        let listener_sessions = IntCounter::new(
            "auralis_listener_sessions_total",
            "WebSocket listeners admitted to /stream since the server started.",
        )
        .expect("a valid metric name");
        let bytes_sent = IntCounterVec::new(
            Opts::new(
                "auralis_bytes_sent_total",
                "WebSocket payload bytes sent to listeners (audio and status messages), by \
                 the codec the listener asked for.",
            ),
            &["codec"],
        )
        .expect("a valid metric name");
        for codec in codecs {
            bytes_sent.with_label_values(&[codec.name()]);
        }
        let registry = Registry::new();
        // Registering can only fail on a duplicate name, and these are the only two.
        let _ = registry.register(Box::new(listener_sessions.clone()));
        let _ = registry.register(Box::new(bytes_sent.clone()));
        Self {
            registry,
            listener_sessions,
            bytes_sent,
        }
    }

    /// Counts a listener admitted to `/stream`.
    pub fn count_listener_session(&self) {
        self.listener_sessions.inc();
    }

    /// The bytes-sent counter of `codec`'s listeners, for a listener to add to as it writes.
    pub fn bytes_sent(&self, codec: Codec) -> IntCounter {
        self.bytes_sent.with_label_values(&[codec.name()])
    }

    /// Every metric, as the text exposition format.
    ///
    /// # Errors
    ///
    /// Only if the crate finds a family malformed, which the tests rule out for ours.
    pub fn encode(&self, readings: &Readings) -> prometheus::Result<String> {
        let mut families = self.registry.gather();
        families.extend(readings.families());
        families.sort_by(|a, b| a.name().cmp(b.name()));
        let mut text = String::new();
        TextEncoder::new().encode_utf8(&families, &mut text)?;
        Ok(text)
    }
}

/// What a scrape reads from outside the monitor's own counters, at the moment of the scrape.
pub(super) struct Readings<'a> {
    /// The engine's status; its renderer and underruns.
    pub status: &'a MonitorStatus,
    /// The engine's counters, when the embedder offers them.
    pub telemetry: Option<&'a Telemetry>,
    /// Open `/stream` connections.
    pub listeners: usize,
    /// Most `/stream` connections allowed.
    pub max_listeners: usize,
    /// Frames the tap dropped because the monitor fell behind.
    pub dropped_frames: u64,
    /// Output sample rate, Hz, to turn frames into seconds.
    pub sample_rate: u32,
    /// Every Icecast output, in the order of the config.
    pub icecast: &'a [IcecastTargetReport],
}

impl Readings<'_> {
    /// The families these readings make.
    fn families(&self) -> Vec<MetricFamily> {
        let (renderer, adapter) = renderer_labels(&self.status.renderer);
        let mut families = vec![
            gauge(
                "auralis_build_info",
                "The running build; always 1.",
                &[("version", env!("CARGO_PKG_VERSION"))],
                1.0,
            ),
            gauge(
                "auralis_renderer_info",
                "The renderer playing the voices (gpu, cpu or silent) and the GPU adapter; \
                 always 1.",
                &[("renderer", renderer), ("adapter", adapter)],
                1.0,
            ),
            gauge(
                "auralis_listeners",
                "WebSocket listeners connected to /stream now.",
                &[],
                self.listeners as f64,
            ),
            gauge(
                "auralis_listeners_max",
                "Most /stream listeners the server admits at once.",
                &[],
                self.max_listeners as f64,
            ),
            counter(
                "auralis_underruns_total",
                "Times the audio output found no rendered audio and faded to silence.",
                self.status.underruns,
            ),
            counter(
                "auralis_dropped_frames_total",
                "Audio frames the web monitor's tap dropped because the monitor fell behind.",
                self.dropped_frames,
            ),
        ];
        if let Some(telemetry) = self.telemetry {
            families.extend([
                counter(
                    "auralis_engine_panics_total",
                    "Panics the engine thread caught and recovered from (or gave up after).",
                    telemetry.engine_panics(),
                ),
                counter(
                    "auralis_gpu_fallbacks_total",
                    "Times rendering moved from the GPU to the CPU while playing.",
                    telemetry.gpu_fallbacks(),
                ),
                gauge(
                    "auralis_engine_lead_seconds",
                    "How far the engine has rendered ahead of the audio output.",
                    &[],
                    telemetry.lead_frames() as f64 / f64::from(self.sample_rate.max(1)),
                ),
                block_render_histogram(telemetry),
            ]);
        }
        if !self.icecast.is_empty() {
            families.extend(icecast_families(self.icecast));
        }
        families
    }
}

/// The Icecast outputs' families, one series per output (label `target`). The state is the
/// usual enumeration of gauges, one per state with the current one at 1, so an alert can ask
/// for `auralis_icecast_state{state="live"} == 0` and a graph can stack the states.
fn icecast_families(reports: &[IcecastTargetReport]) -> Vec<MetricFamily> {
    const STATES: [IcecastState; 4] = [
        IcecastState::Connecting,
        IcecastState::Live,
        IcecastState::Retrying,
        IcecastState::Stopped,
    ];
    let per_target = |value: fn(&IcecastTargetReport) -> u64| -> Vec<(Vec<(&str, &str)>, f64)> {
        reports
            .iter()
            .map(|report| (vec![("target", report.url.as_str())], value(report) as f64))
            .collect()
    };
    let states = reports
        .iter()
        .flat_map(|report| {
            STATES.iter().map(move |&state| {
                (
                    vec![("target", report.url.as_str()), ("state", state.name())],
                    if report.state == state { 1.0 } else { 0.0 },
                )
            })
        })
        .collect();
    vec![
        labelled(
            "auralis_icecast_state",
            "State of each Icecast output: 1 for the state it is in, 0 for the others.",
            MetricType::GAUGE,
            states,
        ),
        labelled(
            "auralis_icecast_sent_bytes_total",
            "Bytes of Ogg/Opus written to each Icecast output, over every connection.",
            MetricType::COUNTER,
            per_target(|report| report.bytes_sent),
        ),
        labelled(
            "auralis_icecast_reconnects_total",
            "Connection attempts to each Icecast output after the first.",
            MetricType::COUNTER,
            per_target(|report| report.reconnects),
        ),
        labelled(
            "auralis_icecast_dropped_packets_total",
            "Opus packets each live Icecast output dropped because its connection fell behind.",
            MetricType::COUNTER,
            per_target(|report| report.dropped_packets),
        ),
    ]
}

/// The `renderer` and `adapter` labels from a status renderer such as
/// `"gpu: llvmpipe (vulkan, software)"`; the adapter only for a GPU.
fn renderer_labels(description: &str) -> (&str, &str) {
    match description.split_once(':') {
        Some((kind, adapter)) if kind.trim() == "gpu" => ("gpu", adapter.trim()),
        Some((kind, _)) => (kind.trim(), ""),
        None => (description.trim(), ""),
    }
}

/// A family of one metric.
fn family(name: &str, help: &str, kind: MetricType, metric: Metric) -> MetricFamily {
    let mut family = MetricFamily::default();
    family.set_name(name.into());
    family.set_help(help.into());
    family.set_field_type(kind);
    family.set_metric(vec![metric]);
    family
}

fn counter(name: &str, help: &str, value: u64) -> MetricFamily {
    labelled(
        name,
        help,
        MetricType::COUNTER,
        vec![(Vec::new(), value as f64)],
    )
}

fn gauge(name: &str, help: &str, labels: &[(&str, &str)], value: f64) -> MetricFamily {
    labelled(
        name,
        help,
        MetricType::GAUGE,
        vec![(labels.to_vec(), value)],
    )
}

/// A family of `kind` (gauge or counter) with one series per entry of `series`: its labels
/// and its value.
fn labelled(
    name: &str,
    help: &str,
    kind: MetricType,
    series: Vec<(Vec<(&str, &str)>, f64)>,
) -> MetricFamily {
    let metrics = series
        .into_iter()
        .map(|(labels, value)| {
            let mut metric = Metric::default();
            if kind == MetricType::COUNTER {
                let mut counter = Counter::default();
                counter.set_value(value);
                metric.set_counter(counter);
            } else {
                let mut gauge = Gauge::default();
                gauge.set_value(value);
                metric.set_gauge(gauge);
            }
            metric.set_label(
                labels
                    .iter()
                    .map(|(name, value)| {
                        let mut label = LabelPair::default();
                        label.set_name((*name).into());
                        label.set_value((*value).into());
                        label
                    })
                    .collect(),
            );
            metric
        })
        .collect();
    let mut family = family(name, help, kind, Metric::default());
    family.set_metric(metrics);
    family
}

/// `auralis_block_render_seconds` from the engine's per-bucket counts, made cumulative.
fn block_render_histogram(telemetry: &Telemetry) -> MetricFamily {
    let times = telemetry.block_render_times();
    let mut cumulative = 0;
    let buckets = BLOCK_RENDER_BUCKETS_S
        .iter()
        .zip(times.counts)
        .map(|(&bound, count)| {
            cumulative += count;
            let mut bucket = Bucket::default();
            bucket.set_upper_bound(bound);
            bucket.set_cumulative_count(cumulative);
            bucket
        })
        .collect();
    let mut histogram = Histogram::default();
    histogram.set_bucket(buckets);
    // The count is the buckets' total rather than a counter of its own, so `+Inf` (which the
    // encoder writes from it) always equals the last bucket or more, even mid-update.
    histogram.set_sample_count(times.counts.iter().sum());
    histogram.set_sample_sum(times.sum_s);
    let mut metric = Metric::default();
    metric.set_histogram(histogram);
    family(
        "auralis_block_render_seconds",
        "Time the engine took to render one block (256 frames) of voices, percussion and \
         effects.",
        MetricType::HISTOGRAM,
        metric,
    )
}

/// The answer to `GET /metrics`.
pub(super) fn metrics_response(shared: &ServerState) -> Response {
    let status = shared.status.status();
    let counters = shared.counters();
    let icecast = shared.icecast_reports();
    let readings = Readings {
        status: &status,
        telemetry: shared.status.telemetry(),
        listeners: counters.listeners,
        max_listeners: shared.max_listeners,
        dropped_frames: counters.dropped_frames,
        sample_rate: shared.sample_rate,
        icecast: &icecast,
    };
    match shared.metrics.encode(&readings) {
        Ok(text) => Response::new(200, TextEncoder::new().format_type(), text.into_bytes()),
        Err(error) => Response::error(500, &format!("metrics could not be encoded: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn status() -> MonitorStatus {
        MonitorStatus {
            renderer: "gpu: llvmpipe (LLVM 15.0.6, 256 bits) (vulkan, software)".into(),
            underruns: 2,
            sample_rate: 48_000,
            ..MonitorStatus::default()
        }
    }

    /// The value of the sample line `series` (name with labels, as written) in `text`.
    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|value| value.parse().ok())
    }

    #[test]
    fn every_metric_is_written_once_with_help_and_type() {
        let metrics = ServerMetrics::new(&[Codec::Pcm16, Codec::Opus]);
        let telemetry = Telemetry::default();
        telemetry.add_frames_rendered(24_000);
        telemetry.record_block_render(Duration::from_micros(700), true);
        telemetry.record_block_render(Duration::from_micros(300), false);
        metrics.count_listener_session();
        metrics.bytes_sent(Codec::Opus).inc_by(1_000);
        let status = status();
        let text = metrics
            .encode(&Readings {
                status: &status,
                telemetry: Some(&telemetry),
                listeners: 3,
                max_listeners: 64,
                dropped_frames: 5,
                sample_rate: 48_000,
                icecast: &[],
            })
            .unwrap();
        for name in [
            "auralis_build_info",
            "auralis_renderer_info",
            "auralis_listeners",
            "auralis_listeners_max",
            "auralis_listener_sessions_total",
            "auralis_bytes_sent_total",
            "auralis_underruns_total",
            "auralis_dropped_frames_total",
            "auralis_engine_panics_total",
            "auralis_gpu_fallbacks_total",
            "auralis_engine_lead_seconds",
            "auralis_block_render_seconds",
        ] {
            let help = format!("# HELP {name} ");
            let kind = format!("# TYPE {name} ");
            assert_eq!(text.matches(&help).count(), 1, "{name} in\n{text}");
            assert_eq!(text.matches(&kind).count(), 1, "{name} in\n{text}");
        }
        assert_eq!(sample(&text, "auralis_listeners"), Some(3.0));
        assert_eq!(sample(&text, "auralis_underruns_total"), Some(2.0));
        assert_eq!(sample(&text, "auralis_dropped_frames_total"), Some(5.0));
        assert_eq!(sample(&text, "auralis_listener_sessions_total"), Some(1.0));
        assert_eq!(
            sample(&text, "auralis_bytes_sent_total{codec=\"opus\"}"),
            Some(1_000.0)
        );
        assert_eq!(
            sample(&text, "auralis_bytes_sent_total{codec=\"pcm16\"}"),
            Some(0.0)
        );
        assert_eq!(sample(&text, "auralis_engine_lead_seconds"), Some(0.5));
        assert_eq!(sample(&text, "auralis_gpu_fallbacks_total"), Some(1.0));
        assert_eq!(
            sample(&text, "auralis_block_render_seconds_bucket{le=\"0.0005\"}"),
            Some(1.0)
        );
        assert_eq!(
            sample(&text, "auralis_block_render_seconds_bucket{le=\"+Inf\"}"),
            Some(2.0)
        );
        assert_eq!(
            sample(&text, "auralis_block_render_seconds_count"),
            Some(2.0)
        );
        assert!(
            text.contains(
                "auralis_renderer_info{renderer=\"gpu\",adapter=\"llvmpipe (LLVM 15.0.6, 256 \
                 bits) (vulkan, software)\"} 1"
            ),
            "{text}"
        );
    }

    #[test]
    fn without_telemetry_the_engine_metrics_are_left_out() {
        let metrics = ServerMetrics::new(&[Codec::Pcm16]);
        let status = MonitorStatus {
            renderer: "cpu".into(),
            ..MonitorStatus::default()
        };
        let text = metrics
            .encode(&Readings {
                status: &status,
                telemetry: None,
                listeners: 0,
                max_listeners: 1,
                dropped_frames: 0,
                sample_rate: 0,
                icecast: &[],
            })
            .unwrap();
        assert!(!text.contains("auralis_engine_"), "{text}");
        assert!(!text.contains("codec=\"opus\""), "{text}");
        assert!(
            text.contains("auralis_renderer_info{renderer=\"cpu\",adapter=\"\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn each_icecast_output_has_its_state_bytes_and_reconnects() {
        let metrics = ServerMetrics::new(&[Codec::Opus]);
        let status = status();
        let report = |url: &str, state, bytes_sent, reconnects| IcecastTargetReport {
            url: url.into(),
            state,
            bytes_sent,
            reconnects,
            dropped_packets: 0,
            last_error: None,
        };
        let icecast = [
            report(
                "icecast://source@a:8000/one.opus",
                IcecastState::Live,
                4_096,
                0,
            ),
            report(
                "icecast://source@b:8000/two.opus",
                IcecastState::Retrying,
                0,
                3,
            ),
        ];
        let text = metrics
            .encode(&Readings {
                status: &status,
                telemetry: None,
                listeners: 0,
                max_listeners: 1,
                dropped_frames: 0,
                sample_rate: 48_000,
                icecast: &icecast,
            })
            .unwrap();
        let a = "target=\"icecast://source@a:8000/one.opus\"";
        let b = "target=\"icecast://source@b:8000/two.opus\"";
        for (series, value) in [
            (format!("auralis_icecast_state{{{a},state=\"live\"}}"), 1.0),
            (
                format!("auralis_icecast_state{{{a},state=\"retrying\"}}"),
                0.0,
            ),
            (
                format!("auralis_icecast_state{{{b},state=\"retrying\"}}"),
                1.0,
            ),
            (format!("auralis_icecast_sent_bytes_total{{{a}}}"), 4_096.0),
            (format!("auralis_icecast_reconnects_total{{{b}}}"), 3.0),
        ] {
            assert_eq!(sample(&text, &series), Some(value), "{series} in\n{text}");
        }
        assert_eq!(
            text.matches("# TYPE auralis_icecast_state gauge").count(),
            1
        );
    }

    #[test]
    fn renderer_labels_name_the_adapter_of_a_gpu_only() {
        assert_eq!(
            renderer_labels("gpu: Radeon (vulkan, discrete GPU)"),
            ("gpu", "Radeon (vulkan, discrete GPU)")
        );
        assert_eq!(renderer_labels("cpu: CPU"), ("cpu", ""));
        assert_eq!(renderer_labels("auto"), ("auto", ""));
        assert_eq!(renderer_labels(""), ("", ""));
    }
}
