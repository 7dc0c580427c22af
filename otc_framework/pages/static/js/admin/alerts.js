// The admin panel's alerts section (being built).
export function mount(section, api) {}
