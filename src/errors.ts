// Every error the package throws on purpose derives from AcdcError, so a
// caller (the CLI, a server) can tell a bad input, which it reports in one
// line, from a bug, which deserves a stack trace. Each subclass prefixes its
// message with what was wrong ("config: …", "safetensors: …").

/** Base of every deliberate error: bad inputs, options, files or configs. */
export class AcdcError extends Error {
  constructor(message: string, name = "AcdcError") {
    super(message);
    this.name = name;
  }
}

/** Bad data or options given to the API (token ids, positions, option values). */
export class InputError extends AcdcError {
  constructor(message: string) { super(message, "InputError"); }
}

/** A model config that is malformed or contradicts itself or its weights. */
export class ConfigError extends AcdcError {
  constructor(message: string) { super(`config: ${message}`, "ConfigError"); }
}

/** Weights that are missing, mis-shaped, unexpected or not finite. */
export class WeightError extends AcdcError {
  constructor(message: string) { super(`weights: ${message}`, "WeightError"); }
}

/** A file whose bytes do not follow its format; `format` names it ("safetensors", "llama2.c", "pth", …). */
export class FormatError extends AcdcError {
  readonly format: string;
  constructor(format: string, message: string) {
    super(`${format}: ${message}`, "FormatError");
    this.format = format;
  }
}
