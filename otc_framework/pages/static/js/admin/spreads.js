// The admin panel's spreads section (being built).
export function mount(section, api) {}
