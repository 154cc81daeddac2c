//! Tests of `prices.rs`: the shipped table, lookups and what each class of token costs.

use super::*;

fn usage(input: u64, cached_input: u64, cache_write: u64, output: u64) -> Usage {
    Usage { input, cached_input, cache_write, output, ..Usage::default() }
}

fn record(kind: &str, model: &str, usage: Option<Usage>, provider_cost: Option<f64>) -> Record {
    Record {
        provider_id: Some(format!("my-{kind}")),
        provider_kind: Some(kind.to_owned()),
        model: Some(model.to_owned()),
        usage,
        provider_cost_usd: provider_cost,
        ..Record::new("scripts", "openai-chat")
    }
}

fn check(prices: &Prices, record: Record, expected_usd: Option<f64>, expected_source: Option<&str>) {
    let cost = prices.cost(&record);
    match (cost.usd, expected_usd) {
        (Some(got), Some(want)) => {
            assert!((got - want).abs() < 1e-9, "{:?} {:?}: got {got}, want {want}", record.provider_kind, record.model)
        }
        (got, want) => assert_eq!(got, want, "{:?} {:?}", record.provider_kind, record.model),
    }
    assert_eq!(cost.source.map(CostSource::as_str), expected_source, "{:?}", record.model);
}

#[test]
fn the_shipped_table_parses_and_prices_every_listed_model() {
    let prices = Prices::shipped().unwrap();
    assert_eq!(prices.version(), "2026-11-25");
    for (kind, model) in [
        ("openai", "gpt-4o"),
        ("openai", "gpt-4o-mini"),
        ("openai", "gpt-4.1"),
        ("openai", "gpt-4.1-mini"),
        ("openai", "gpt-4.1-nano"),
        ("openai", "gpt-5"),
        ("openai", "gpt-5-mini"),
        ("openai", "gpt-5-nano"),
        ("openai", "o3"),
        ("openai", "o4-mini"),
        ("openai", "text-embedding-3-small"),
        ("openai", "text-embedding-3-large"),
        ("anthropic", "claude-opus-4-1-20250805"),
        ("anthropic", "claude-opus-4-20250514"),
        ("anthropic", "claude-sonnet-4-5-20250929"),
        ("anthropic", "claude-sonnet-4-20250514"),
        ("anthropic", "claude-haiku-4-5-20251001"),
        ("anthropic", "claude-3-5-haiku-20241022"),
        ("gemini", "gemini-2.5-pro"),
        ("gemini", "gemini-2.5-flash"),
        ("gemini", "gemini-2.5-flash-lite"),
        ("gemini", "gemini-2.0-flash"),
        ("deepseek", "deepseek-chat"),
        ("deepseek", "deepseek-reasoner"),
        ("groq", "llama-3.3-70b-versatile"),
        ("mistral", "mistral-large-latest"),
        ("mistral", "mistral-small-latest"),
        ("xai", "grok-4"),
    ] {
        assert!(prices.lookup(Some(kind), None, model).is_some(), "{kind} {model} has no price");
    }
}

#[test]
fn longest_prefix_wins_and_dated_snapshots_match() {
    let prices = Prices::shipped().unwrap();
    let input = |kind, model| prices.lookup(Some(kind), None, model).map(|(p, _)| p.input);
    assert_eq!(input("openai", "gpt-4o-mini-2024-07-18"), Some(0.15));
    assert_eq!(input("openai", "gpt-4o-2024-08-06"), Some(2.50));
    assert_eq!(input("openai", "gpt-4.1-nano-2025-04-14"), Some(0.10));
    assert_eq!(input("anthropic", "claude-opus-4-5-20251101"), Some(5.00));
    assert_eq!(input("anthropic", "claude-opus-4-1"), Some(15.00));
    assert_eq!(input("gemini", "models/gemini-2.5-flash-lite"), Some(0.10));
    assert_eq!(input("openai", "gpt-3.5-turbo"), None);
    assert_eq!(input("anthropic", "gpt-4o"), None, "prices belong to their provider");
    // OpenAI reached through its Responses API is priced as OpenAI, whatever the provider is called.
    assert_eq!(input("openai-responses", "gpt-5-mini"), input("openai", "gpt-5-mini"));
    let named = |id| prices.lookup(Some("openai-responses"), Some(id), "gpt-4.1").map(|(p, _)| p.input);
    assert_eq!((named("openai-responses"), named("work")), (Some(2.00), Some(2.00)));
}

#[test]
fn cost_table() {
    let prices = Prices::shipped().unwrap();
    let sonnet = "claude-sonnet-4-5-20250929";
    // Plain input and output: gpt-4o-mini, 1M in + 1M out = 0.15 + 0.60.
    check(
        &prices,
        record("openai", "gpt-4o-mini", Some(usage(1_000_000, 0, 0, 1_000_000)), None),
        Some(0.75),
        Some("prices"),
    );
    // OpenAI cached input: 1000 prompt tokens of which 800 cached on gpt-4.1: 200·2 + 800·0.5 + 100·8 (per 1M).
    check(&prices, record("openai", "gpt-4.1", Some(usage(1000, 800, 0, 100)), None), Some(0.0016), Some("prices"));
    // Anthropic cache read and write: 10k prompt = 2k fresh + 5k read + 3k written, 1k out on Sonnet 4.5.
    let want = (2000.0 * 3.0 + 5000.0 * 0.30 + 3000.0 * 3.75 + 1000.0 * 15.0) / 1e6;
    check(
        &prices,
        record("anthropic", sonnet, Some(usage(10_000, 5000, 3000, 1000)), None),
        Some(want),
        Some("prices"),
    );
    // Long context: a 300k prompt on Sonnet 4.5 bills every token at the >200k tier…
    let want = (250_000.0 * 6.0 + 50_000.0 * 0.60 + 2000.0 * 22.5) / 1e6;
    check(
        &prices,
        record("anthropic", sonnet, Some(usage(300_000, 50_000, 0, 2000)), None),
        Some(want),
        Some("prices"),
    );
    // …and exactly 200k is still the base tier.
    check(&prices, record("anthropic", sonnet, Some(usage(200_000, 0, 0, 0)), None), Some(0.6), Some("prices"));
    // Gemini 2.5 Pro's two tiers.
    check(
        &prices,
        record("gemini", "gemini-2.5-pro", Some(usage(100_000, 0, 0, 10_000)), None),
        Some(0.225),
        Some("prices"),
    );
    check(
        &prices,
        record("gemini", "gemini-2.5-pro", Some(usage(300_000, 0, 0, 10_000)), None),
        Some(0.9),
        Some("prices"),
    );
    // Reasoning tokens are part of output, not billed twice.
    let mut thinking = usage(1000, 0, 0, 5000);
    thinking.reasoning = 4000;
    check(
        &prices,
        record("openai", "o4-mini", Some(thinking), None),
        Some((1000.0 * 1.1 + 5000.0 * 4.4) / 1e6),
        Some("prices"),
    );
    // The provider's own figure wins over the table, even for a model the table knows.
    check(
        &prices,
        record("openrouter", "openai/gpt-4o", Some(usage(1000, 0, 0, 1000)), Some(0.0421)),
        Some(0.0421),
        Some("provider"),
    );
    // Local models are free, whatever they are called.
    check(&prices, record("ollama", "llama3.2", Some(usage(5000, 0, 0, 5000)), None), Some(0.0), Some("local"));
    check(&prices, record("lmstudio", "gpt-4o", Some(usage(5000, 0, 0, 5000)), None), Some(0.0), Some("local"));
    // An unknown model's cost is NULL, not zero.
    check(&prices, record("openai", "gpt-99-turbo", Some(usage(10, 0, 0, 10)), None), None, Some("unknown"));
    check(
        &prices,
        record("together", "meta-llama/Llama-3-70b", Some(usage(10, 0, 0, 10)), None),
        None,
        Some("unknown"),
    );
    // Nothing reported, nothing to price.
    check(&prices, record("openai", "gpt-4o", None, None), None, None);
    // A nonsense provider figure is ignored.
    check(
        &prices,
        record("openai", "gpt-4o", Some(usage(1_000_000, 0, 0, 0)), Some(f64::NAN)),
        Some(2.5),
        Some("prices"),
    );
}

/// Cache reads at each provider's own read price from the shipped table, whichever field reported them (DeepSeek's
/// hits, Gemini's cached content, OpenAI's cached tokens): 100k prompt tokens (under Gemini's long-context
/// threshold) of which 50k read, 10k out.
#[test]
fn cache_reads_are_priced_at_each_providers_read_price() {
    let prices = Prices::shipped().unwrap();
    for (kind, model, want) in [
        ("deepseek", "deepseek-chat", 0.05 * 0.28 + 0.05 * 0.028 + 0.01 * 0.42),
        ("gemini", "gemini-2.5-pro", 0.05 * 1.25 + 0.05 * 0.125 + 0.01 * 10.0),
        ("openai", "gpt-4.1", 0.05 * 2.0 + 0.05 * 0.5 + 0.01 * 8.0),
    ] {
        check(&prices, record(kind, model, Some(usage(100_000, 50_000, 0, 10_000)), None), Some(want), Some("prices"));
    }
}

/// Anthropic's two cache lifetimes at their own prices: five-minute writes at `cache_write` (1.25× input),
/// hour-long ones at `cache_write_1h`, which defaults to 2× input, tier included.
#[test]
fn hour_long_cache_writes_are_priced_apart() {
    let prices = Prices::shipped().unwrap();
    let sonnet = "claude-sonnet-4-5-20250929";
    let with_1h = |input, cached_input, cache_write, cache_write_1h, output| Usage {
        input,
        cached_input,
        cache_write,
        cache_write_1h,
        output,
        reasoning: 0,
    };
    // 10k prompt = 2k fresh + 5k read + 3k written (1k for five minutes, 2k for an hour), 1k out.
    let want = (2000.0 * 3.0 + 5000.0 * 0.30 + 1000.0 * 3.75 + 2000.0 * 6.0 + 1000.0 * 15.0) / 1e6;
    check(
        &prices,
        record("anthropic", sonnet, Some(with_1h(10_000, 5000, 3000, 2000, 1000)), None),
        Some(want),
        Some("prices"),
    );
    // Over 200k, the tier's input (6.00) makes the hour-long price 12.00, its write price 7.50.
    let want = (150_000.0 * 6.0 + 50_000.0 * 0.60 + 50_000.0 * 7.5 + 50_000.0 * 12.0 + 1000.0 * 22.5) / 1e6;
    check(
        &prices,
        record("anthropic", sonnet, Some(with_1h(300_000, 50_000, 100_000, 50_000, 1000)), None),
        Some(want),
        Some("prices"),
    );
    // A price of its own wins; an override of input moves the derived one with it.
    let table = "version = \"t\"\n[[price]]\nprovider = \"anthropic\"\nprefix = \"c\"\ninput = 1.0\noutput = 1.0\n\
                 cache_write = 1.25\ncache_write_1h = 5.0\n";
    let own = Prices::from_toml(table).unwrap();
    check(&own, record("anthropic", "c", Some(with_1h(3, 0, 3, 2, 0)), None), Some(11.25 / 1e6), Some("prices"));
    let overridden = own.clone().with_overrides([PriceOverride {
        provider: "anthropic".into(),
        model: "c".into(),
        input: Some(2.0),
        ..Default::default()
    }]);
    check(&overridden, record("anthropic", "c", Some(with_1h(3, 0, 3, 2, 0)), None), Some(9.25 / 1e6), Some("prices"));
    // The user's own hour-long price wins over both, with or without their input price.
    for input in [None, Some(2.0)] {
        let own_1h = own.clone().with_overrides([PriceOverride {
            provider: "anthropic".into(),
            model: "c".into(),
            input,
            cache_write_1h: Some(3.0),
            ..Default::default()
        }]);
        // One five-minute write at the table's 1.25, two hour-long ones at the user's 3.00.
        let want = (1.25 + 2.0 * 3.0) / 1e6;
        check(&own_1h, record("anthropic", "c", Some(with_1h(3, 0, 3, 2, 0)), None), Some(want), Some("prices"));
    }
    // Counts that do not nest are clamped: never more hour-long writes than writes, nor writes than prompt.
    check(&own, record("anthropic", "c", Some(with_1h(2, 0, 5, 9, 0)), None), Some(10.0 / 1e6), Some("prices"));
}

#[test]
fn openrouter_models_fall_back_to_the_vendors_prices() {
    let prices = Prices::shipped().unwrap();
    check(
        &prices,
        record("openrouter", "anthropic/claude-sonnet-4.5", Some(usage(100_000, 0, 0, 0)), None),
        Some(0.3),
        Some("prices"),
    );
    check(
        &prices,
        record("openrouter", "google/gemini-2.5-flash", Some(usage(1_000_000, 0, 0, 0)), None),
        Some(0.3),
        Some("prices"),
    );
    check(
        &prices,
        record("openrouter", "x-ai/grok-4", Some(usage(0, 0, 0, 1_000_000)), None),
        Some(15.0),
        Some("prices"),
    );
    check(&prices, record("openrouter", "qwen/qwen3-coder", Some(usage(1, 0, 0, 1)), None), None, Some("unknown"));
    // An OpenRouter entry of its own comes first.
    let table = "version = \"t\"\n\
                 [[price]]\nprovider = \"openrouter\"\nprefix = \"anthropic/claude-sonnet-4\"\ninput = 9.0\noutput = 9.0\n\
                 [[price]]\nprovider = \"anthropic\"\nprefix = \"claude-sonnet-4\"\ninput = 3.0\noutput = 15.0\n";
    let prices = Prices::from_toml(table).unwrap();
    check(
        &prices,
        record("openrouter", "anthropic/claude-sonnet-4.5", Some(usage(1_000_000, 0, 0, 0)), None),
        Some(9.0),
        Some("prices"),
    );
}

#[test]
fn overrides_replace_parts_of_a_price_and_mark_the_version() {
    let prices = Prices::shipped().unwrap().with_overrides([
        PriceOverride { provider: "openai".into(), model: "gpt-4o".into(), input: Some(1.0), ..Default::default() },
        PriceOverride {
            provider: "my-work".into(),
            model: "house-model".into(),
            input: Some(0.5),
            output: Some(1.0),
            ..Default::default()
        },
        PriceOverride {
            provider: "anthropic".into(),
            model: "claude-sonnet-4".into(),
            output: Some(10.0),
            ..Default::default()
        },
    ]);
    // Input overridden, output kept from the table.
    let cost = prices.cost(&record("openai", "gpt-4o-2024-08-06", Some(usage(1_000_000, 0, 0, 1_000_000)), None));
    assert_eq!(cost.usd, Some(11.0));
    assert_eq!(cost.price_version.as_deref(), Some("2026-11-25+override"));
    // A model only the user knows, by provider id.
    let mut own = record("custom", "house-model-v2", Some(usage(2_000_000, 0, 0, 1_000_000)), None);
    own.provider_id = Some("my-work".into());
    assert_eq!(prices.cost(&own).usd, Some(2.0));
    // An override of output drops the long-context tier.
    let (price, overridden) = prices.lookup(Some("anthropic"), None, "claude-sonnet-4-5").unwrap();
    assert!(overridden);
    assert_eq!((price.input, price.output, price.long_context), (3.0, 10.0, None));
    // Untouched models keep the plain version.
    let cost = prices.cost(&record("openai", "gpt-5", Some(usage(1, 0, 0, 1)), None));
    assert_eq!(cost.price_version.as_deref(), Some("2026-11-25"));
}

#[test]
fn local_means_a_loopback_preset() {
    assert!(is_local("ollama"));
    assert!(is_local("lmstudio"));
    assert!(!is_local("openai"));
    assert!(!is_local("custom"));
    assert!(!is_local("no-such-kind"));
}

#[test]
fn a_broken_table_is_an_error_that_says_where() {
    let err =
        Prices::from_toml("version = \"x\"\n[[price]]\nprovider = \"a\"\nprefix = \"b\"\ninput = 1.0\n").unwrap_err();
    assert!(err.to_string().contains("output"), "{err}");
}
