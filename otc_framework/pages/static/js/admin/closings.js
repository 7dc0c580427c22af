// The admin panel's closings section (being built).
export function mount(section, api) {}
