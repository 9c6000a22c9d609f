//! `GET /metrics`: the server's and the engine's counters in the Prometheus text exposition
//! format (version 0.0.4), for Prometheus, `promtool` and anything else that scrapes it.
//!
//! Two kinds of value. What only the monitor sees (listener sessions, bytes sent per codec)
//! lives here as the `prometheus` crate's own counters, bumped by the broadcast thread. What is
//! counted elsewhere (the engine's [`Telemetry`], the listener gauge and the tap's drops in
//! `Shared`, the status) is read when a scrape comes, into [`Readings`], and turned into metric
//! families on the spot: mirroring those atomics into counters of our own would only add a
//! second copy that can disagree. Either way the crate checks and writes the text.
//!
//! Runs on the request threads and the broadcast thread; never on the audio thread. Outputs
//! that come later (Icecast targets) add their own families to [`Readings`], labelled by
//! target, the way `bytes_sent` is labelled by codec.

use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};
use prometheus::{Encoder, IntCounter, IntCounterVec, Opts, Registry, TextEncoder};

use super::packet::Codec;
use super::response::Response;
use super::server::Shared;
use super::status::MonitorStatus;
use crate::realtime::Telemetry;
use crate::realtime::telemetry::BLOCK_RENDER_BUCKETS_S;

/// The counters the monitor keeps itself. One per server, in `Shared`.
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
        families
    }
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
    let mut counter = Counter::default();
    counter.set_value(value as f64);
    let mut metric = Metric::default();
    metric.set_counter(counter);
    family(name, help, MetricType::COUNTER, metric)
}

fn gauge(name: &str, help: &str, labels: &[(&str, &str)], value: f64) -> MetricFamily {
    let mut gauge = Gauge::default();
    gauge.set_value(value);
    let mut metric = Metric::default();
    metric.set_gauge(gauge);
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
    family(name, help, MetricType::GAUGE, metric)
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
pub(super) fn metrics_response(shared: &Shared) -> Response {
    let status = shared.status.status();
    let counters = shared.counters();
    let readings = Readings {
        status: &status,
        telemetry: shared.status.telemetry(),
        listeners: counters.listeners,
        max_listeners: shared.max_listeners,
        dropped_frames: counters.dropped_frames,
        sample_rate: shared.sample_rate,
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
