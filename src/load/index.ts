// Front door of src/load (filled in by its issue).
export {};
