// What the listener touches: the Play/Stop button and the volume slider (remembered across
// visits). Audio only ever starts from the button's click, a user gesture.

const VOLUME_KEY = 'auralis.volume';

export class Controls {
  /** handlers: onPlay(), onStop(), onVolume(0..1) */
  constructor(root, handlers) {
    this.button = root.getElementById('play');
    this.slider = root.getElementById('volume');
    this.playing = false;
    const saved = Number.parseFloat(localStorage.getItem(VOLUME_KEY) ?? '');
    if (Number.isFinite(saved)) this.slider.value = String(saved);

    this.button.addEventListener('click', () => {
      this.playing = !this.playing;
      this.#render();
      if (this.playing) handlers.onPlay();
      else handlers.onStop();
    });
    this.slider.addEventListener('input', () => {
      localStorage.setItem(VOLUME_KEY, this.slider.value);
      handlers.onVolume(this.volume);
    });
    this.#render();
  }

  get volume() {
    return Number.parseFloat(this.slider.value);
  }

  #render() {
    this.button.textContent = this.playing ? 'Stop' : 'Play';
    this.button.setAttribute('aria-pressed', String(this.playing));
    this.button.classList.toggle('is-playing', this.playing);
  }
}
