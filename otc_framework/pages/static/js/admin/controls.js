// The admin panel's controls section (being built).
export function mount(section, api) {}
