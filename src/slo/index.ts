// Front door of src/slo (filled in by its issue).
export {};
