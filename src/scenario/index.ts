// Front door of src/scenario (filled in by its issue).
export {};
