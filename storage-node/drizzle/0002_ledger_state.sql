CREATE TABLE "ledger_checkpoint" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"mode" text NOT NULL,
	"block_no" bigint NOT NULL,
	"hash" "bytea",
	"slot" bigint,
	"state_hash" "bytea" NOT NULL,
	"size" bigint NOT NULL,
	"tx_count" bigint NOT NULL,
	"nonce_epoch" bigint NOT NULL,
	"nonce_eta" "bytea" NOT NULL,
	"nonce_acc" "bytea" NOT NULL,
	"written_at" bigint NOT NULL,
	CONSTRAINT "ledger_checkpoint_one_row" CHECK ("ledger_checkpoint"."id" = 1),
	CONSTRAINT "ledger_checkpoint_mode" CHECK ("ledger_checkpoint"."mode" in ('utxo', 'opaque')),
	CONSTRAINT "ledger_checkpoint_origin" CHECK (("ledger_checkpoint"."block_no" = 0) = ("ledger_checkpoint"."hash" is null))
);
--> statement-breakpoint
CREATE TABLE "ledger_key_regs" (
	"block_no" bigint NOT NULL,
	"position" integer NOT NULL,
	"epoch" bigint NOT NULL,
	"pool_id" "bytea" NOT NULL,
	"vote_vk" "bytea" NOT NULL,
	"vote_pop" "bytea" NOT NULL,
	CONSTRAINT "ledger_key_regs_block_no_position_pk" PRIMARY KEY("block_no","position")
);
--> statement-breakpoint
CREATE TABLE "ledger_nonces" (
	"epoch" bigint PRIMARY KEY NOT NULL,
	"eta" "bytea" NOT NULL,
	"acc" "bytea" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ledger_tx_ids" (
	"id" "bytea" PRIMARY KEY NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ledger_utxo" (
	"tx_id" "bytea" NOT NULL,
	"idx" integer NOT NULL,
	"address" "bytea" NOT NULL,
	"amount" numeric(20, 0) NOT NULL,
	CONSTRAINT "ledger_utxo_tx_id_idx_pk" PRIMARY KEY("tx_id","idx")
);
