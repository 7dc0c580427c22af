// The admin panel's holidays section (being built).
export function mount(section, api) {}
