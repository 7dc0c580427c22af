// The admin panel's audit section (being built).
export function mount(section, api) {}
