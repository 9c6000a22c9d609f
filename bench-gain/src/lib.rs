//! A minimal gain effect built on nice-plug, for the plugin benchmark only.
//!
//! It is what any nice-plug plugin costs a host per callback: the CLAP wrapper's event and
//! buffer handling, one smoothed parameter and a multiply per sample. The benchmark times it in
//! the same host, paced the same way and interleaved with Auralis, so that Auralis's callback
//! time can be read against the cheapest plugin built with the same framework
//! (`callback_p999_over_gain_plugin`). Stereo in and out, as a gain on a track's insert.

#![deny(missing_docs)]

use std::sync::Arc;

use nice_plug::prelude::*;

/// The plugin instance.
#[derive(Default)]
pub struct BenchGain {
    params: Arc<GainParams>,
}

/// The one parameter.
#[derive(Params)]
struct GainParams {
    /// Linear gain, shown in dB, smoothed so that automation does not click.
    #[id = "gain"]
    gain: FloatParam,
}

impl Default for GainParams {
    fn default() -> Self {
        Self {
            gain: FloatParam::new(
                "Gain",
                util::db_to_gain(-6.0),
                FloatRange::Skewed {
                    min: util::db_to_gain(-30.0),
                    max: util::db_to_gain(30.0),
                    factor: FloatRange::gain_skew_factor(-30.0, 30.0),
                },
            )
            .with_smoother(SmoothingStyle::Logarithmic(50.0))
            .with_unit(" dB")
            .with_value_to_string(formatters::v2s_f32_gain_to_db(2))
            .with_string_to_value(formatters::s2v_f32_gain_to_db()),
        }
    }
}

impl Plugin for BenchGain {
    const NAME: &'static str = "Auralis Bench Gain";
    const VENDOR: &'static str = "Auralis";
    const URL: &'static str = "https://example.invalid/auralis";
    const EMAIL: &'static str = "hello@example.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[AudioIOLayout {
        main_input_channels: NonZeroU32::new(2),
        main_output_channels: NonZeroU32::new(2),
        aux_input_ports: &[],
        aux_output_ports: &[],
        names: PortNames::const_default(),
    }];

    type Editor = ();
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        _context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        for samples in buffer.iter_samples() {
            let gain = self.params.gain.smoothed.next();
            for sample in samples {
                *sample *= gain;
            }
        }
        ProcessStatus::Normal
    }
}

impl ClapPlugin for BenchGain {
    const CLAP_ID: &'static str = "audio.auralis.bench-gain";
    const CLAP_DESCRIPTION: Option<&'static str> = Some("A gain, for benchmarks");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::Stereo,
        ClapFeature::Utility,
    ];
}

nice_export_clap!(BenchGain);
