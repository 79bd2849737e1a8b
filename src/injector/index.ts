// Front door of src/injector (filled in by its issue).
export {};
