// The admin panel's clients section (being built).
export function mount(section, api) {}
