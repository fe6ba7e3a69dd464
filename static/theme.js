// Colour mode (Bootstrap 5.3's data-bs-theme): light, dark, or auto, which follows the system's
// prefers-color-scheme. Loaded in <head> without defer, so the mode is set before first paint;
// the navbar's theme menu switches it, and the choice is remembered in localStorage.
(() => {
  'use strict';

  const KEY = 'stock-ticker-theme';
  const MODES = ['light', 'dark', 'auto'];
  const system = window.matchMedia('(prefers-color-scheme: dark)');

  const stored = () => {
    try {
      const mode = window.localStorage.getItem(KEY);
      return MODES.includes(mode) ? mode : 'auto';
    } catch {
      return 'auto'; // storage blocked: follow the system
    }
  };

  const remember = (mode) => {
    try {
      window.localStorage.setItem(KEY, mode);
    } catch {
      // storage blocked: the choice lasts for this page only
    }
  };

  const apply = (mode) => {
    const theme = mode === 'auto' ? (system.matches ? 'dark' : 'light') : mode;
    document.documentElement.setAttribute('data-bs-theme', theme);
  };

  // Marks the chosen mode in the menu and names it on the toggle.
  const show = (mode) => {
    const current = document.querySelector(`[data-theme-value="${mode}"]`);
    document.querySelectorAll('[data-theme-value]').forEach((item) => {
      const active = item === current;
      item.classList.toggle('active', active);
      item.setAttribute('aria-pressed', String(active));
    });
    const icon = document.getElementById('theme-icon');
    const toggle = document.getElementById('theme-toggle');
    const glyph = current && current.querySelector('.theme-icon svg');
    if (glyph && icon && toggle) {
      icon.replaceChildren(glyph.cloneNode(true));
      toggle.setAttribute('aria-label', `Colour theme (${mode})`);
      toggle.setAttribute('data-theme-mode', mode);
    }
  };

  apply(stored());

  system.addEventListener('change', () => {
    if (stored() === 'auto') {
      apply('auto');
    }
  });

  // Another tab changed the mode.
  window.addEventListener('storage', (event) => {
    if (event.key === KEY) {
      apply(stored());
      show(stored());
    }
  });

  window.addEventListener('DOMContentLoaded', () => {
    show(stored());
    document.querySelectorAll('[data-theme-value]').forEach((item) => {
      item.addEventListener('click', () => {
        const mode = item.getAttribute('data-theme-value');
        remember(mode);
        apply(mode);
        show(mode);
      });
    });
    // The menu needs this script; without it the page simply follows Bootstrap's light mode.
    const menu = document.getElementById('theme-menu');
    if (menu) {
      menu.classList.remove('d-none');
    }
  });
})();
