CREATE TABLE "chain" (
	"block_no" bigint PRIMARY KEY NOT NULL,
	"hash" "bytea" NOT NULL,
	"slot" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "eb_txs" (
	"eb_hash" "bytea" NOT NULL,
	"idx" integer NOT NULL,
	"tx_hash" "bytea" NOT NULL,
	"tx_size" integer NOT NULL,
	CONSTRAINT "eb_txs_eb_hash_idx_pk" PRIMARY KEY("eb_hash","idx")
);
--> statement-breakpoint
CREATE TABLE "ebs" (
	"hash" "bytea" PRIMARY KEY NOT NULL,
	"bytes" "bytea" NOT NULL,
	"rb_hash" "bytea" NOT NULL,
	"slot" bigint NOT NULL,
	"tx_count" integer NOT NULL,
	"tx_bytes" bigint NOT NULL,
	"complete" boolean DEFAULT false NOT NULL,
	"immutable" boolean DEFAULT false NOT NULL,
	"received_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rb_bodies" (
	"hash" "bytea" PRIMARY KEY NOT NULL,
	"body" "bytea" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rb_headers" (
	"hash" "bytea" PRIMARY KEY NOT NULL,
	"slot" bigint NOT NULL,
	"block_no" bigint NOT NULL,
	"prev_hash" "bytea",
	"issuer" "bytea" NOT NULL,
	"body_hash" "bytea" NOT NULL,
	"body_size" integer NOT NULL,
	"certified_eb" boolean NOT NULL,
	"eb_hash" "bytea",
	"eb_size" integer,
	"header" "bytea" NOT NULL,
	"received_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "txs" (
	"hash" "bytea" PRIMARY KEY NOT NULL,
	"size" integer NOT NULL,
	"bytes" "bytea" NOT NULL,
	"cached_at" bigint
);
--> statement-breakpoint
CREATE TABLE "votes" (
	"rb_hash" "bytea" NOT NULL,
	"seat" integer NOT NULL,
	"signature" "bytea" NOT NULL,
	"bytes" "bytea" NOT NULL,
	"received_at" bigint NOT NULL,
	CONSTRAINT "votes_rb_hash_seat_pk" PRIMARY KEY("rb_hash","seat")
);
--> statement-breakpoint
ALTER TABLE "chain" ADD CONSTRAINT "chain_hash_rb_headers_hash_fk" FOREIGN KEY ("hash") REFERENCES "public"."rb_headers"("hash") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rb_bodies" ADD CONSTRAINT "rb_bodies_hash_rb_headers_hash_fk" FOREIGN KEY ("hash") REFERENCES "public"."rb_headers"("hash") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "votes" ADD CONSTRAINT "votes_rb_hash_rb_headers_hash_fk" FOREIGN KEY ("rb_hash") REFERENCES "public"."rb_headers"("hash") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "chain_hash_idx" ON "chain" USING btree ("hash");--> statement-breakpoint
CREATE INDEX "chain_slot_idx" ON "chain" USING btree ("slot");--> statement-breakpoint
CREATE INDEX "eb_txs_tx_idx" ON "eb_txs" USING btree ("tx_hash");--> statement-breakpoint
CREATE INDEX "ebs_volatile_idx" ON "ebs" USING btree ("slot") WHERE not "ebs"."immutable";--> statement-breakpoint
CREATE INDEX "rb_headers_slot_idx" ON "rb_headers" USING btree ("slot","issuer");--> statement-breakpoint
CREATE INDEX "rb_headers_prev_idx" ON "rb_headers" USING btree ("prev_hash");--> statement-breakpoint
CREATE INDEX "rb_headers_eb_idx" ON "rb_headers" USING btree ("eb_hash");--> statement-breakpoint
CREATE INDEX "txs_cached_idx" ON "txs" USING btree ("cached_at") WHERE "txs"."cached_at" is not null;--> statement-breakpoint
CREATE INDEX "votes_received_idx" ON "votes" USING btree ("received_at");