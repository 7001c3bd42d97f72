import CProtobufC
import ONNXProto
import OnnxSlimC

/// Builds protobuf-c structs from the Swift IR for packing.
///
/// Raw tensor bytes are not copied: the C struct points at the `ByteView`'s memory, and
/// protobuf-c's `pack_to_buffer` hands that pointer straight to the output sink. The IR must
/// stay alive until packing ends; everything else lives in the arena.
final class ProtoWriter {
    let arena = CArena()

    func model(_ m: Model) -> UnsafeMutablePointer<Onnx__ModelProto> {
        let p = arena.allocate(Onnx__ModelProto.self)
        onnx__model_proto__init(p)
        setExtras(p, m.proto)
        if m.irVersion != 0 || m.proto.isExplicit(Model.Field.irVersion) {
            p.pointee.has_ir_version = 1
            p.pointee.ir_version = m.irVersion
        }
        (p.pointee.n_opset_import, p.pointee.opset_import) = array(m.opsetImports, opset)
        p.pointee.producer_name = string(m.producerName, Model.Field.producerName, m.proto)
        p.pointee.producer_version = string(m.producerVersion, Model.Field.producerVersion, m.proto)
        p.pointee.domain = string(m.domain, Model.Field.domain, m.proto)
        if m.modelVersion != 0 || m.proto.isExplicit(Model.Field.modelVersion) {
            p.pointee.has_model_version = 1
            p.pointee.model_version = m.modelVersion
        }
        p.pointee.doc_string = string(m.docString, Model.Field.docString, m.proto)
        if let g = m.graph { p.pointee.graph = graph(g) }
        (p.pointee.n_metadata_props, p.pointee.metadata_props) = array(m.metadata, pair)
        (p.pointee.n_training_info, p.pointee.training_info) = array(m.trainingInfo, trainingInfo)
        (p.pointee.n_functions, p.pointee.functions) = array(m.functions, function)
        (p.pointee.n_configuration, p.pointee.configuration) =
            array(m.configuration) { opaque($0, onnx__device_configuration_proto__unpack) }
        return p
    }

    func graph(_ g: Graph) -> UnsafeMutablePointer<Onnx__GraphProto> {
        let p = arena.allocate(Onnx__GraphProto.self)
        onnx__graph_proto__init(p)
        setExtras(p, g.proto)
        (p.pointee.n_node, p.pointee.node) = array(g.nodes, node)
        p.pointee.name = string(g.name, Graph.Field.name, g.proto)
        (p.pointee.n_initializer, p.pointee.initializer) = array(g.initializers, tensor)
        (p.pointee.n_sparse_initializer, p.pointee.sparse_initializer) = array(g.sparseInitializers, sparseTensor)
        p.pointee.doc_string = string(g.docString, Graph.Field.docString, g.proto)
        (p.pointee.n_input, p.pointee.input) = array(g.inputs, valueInfo)
        (p.pointee.n_output, p.pointee.output) = array(g.outputs, valueInfo)
        (p.pointee.n_value_info, p.pointee.value_info) = array(g.valueInfo, valueInfo)
        (p.pointee.n_quantization_annotation, p.pointee.quantization_annotation) =
            array(g.quantizationAnnotations) { opaque($0, onnx__tensor_annotation__unpack) }
        (p.pointee.n_metadata_props, p.pointee.metadata_props) = array(g.metadata, pair)
        return p
    }

    func node(_ n: Node) -> UnsafeMutablePointer<Onnx__NodeProto> {
        let p = arena.allocate(Onnx__NodeProto.self)
        onnx__node_proto__init(p)
        setExtras(p, n.proto)
        (p.pointee.n_input, p.pointee.input) = strings(n.inputs)
        (p.pointee.n_output, p.pointee.output) = strings(n.outputs)
        p.pointee.name = string(n.name, Node.Field.name, n.proto)
        p.pointee.op_type = string(n.opType, Node.Field.opType, n.proto)
        p.pointee.domain = string(n.domain, Node.Field.domain, n.proto)
        p.pointee.overload = string(n.overload, Node.Field.overload, n.proto)
        (p.pointee.n_attribute, p.pointee.attribute) = array(n.attributes, attribute)
        p.pointee.doc_string = string(n.docString, Node.Field.docString, n.proto)
        (p.pointee.n_metadata_props, p.pointee.metadata_props) = array(n.metadata, pair)
        (p.pointee.n_device_configurations, p.pointee.device_configurations) =
            array(n.deviceConfigurations) { opaque($0, onnx__node_device_configuration_proto__unpack) }
        return p
    }

    func attribute(_ a: Attribute) -> UnsafeMutablePointer<Onnx__AttributeProto> {
        let p = arena.allocate(Onnx__AttributeProto.self)
        onnx__attribute_proto__init(p)
        setExtras(p, a.proto)
        p.pointee.name = string(a.name, Attribute.Field.name, a.proto)
        p.pointee.ref_attr_name = string(a.refAttrName, Attribute.Field.refAttrName, a.proto)
        p.pointee.doc_string = string(a.docString, Attribute.Field.docString, a.proto)
        if a.type.rawValue != 0 || a.proto.isExplicit(Attribute.Field.type) {
            p.pointee.has_type = 1
            p.pointee.type = Onnx__AttributeProto__AttributeType(rawValue: UInt32(bitPattern: a.type.rawValue))
        }
        if a.f.bitPattern != 0 || a.proto.isExplicit(Attribute.Field.f) {
            p.pointee.has_f = 1
            p.pointee.f = a.f
        }
        if a.i != 0 || a.proto.isExplicit(Attribute.Field.i) {
            p.pointee.has_i = 1
            p.pointee.i = a.i
        }
        if !a.s.isEmpty || a.proto.isExplicit(Attribute.Field.s) {
            p.pointee.has_s = 1
            p.pointee.s = binary(a.s)
        }
        if let t = a.t { p.pointee.t = tensor(t) }
        if let g = a.g { p.pointee.g = graph(g) }
        if let s = a.sparseTensor { p.pointee.sparse_tensor = sparseTensor(s) }
        if let tp = a.tp { p.pointee.tp = typeProto(tp) }
        p.pointee.n_floats = a.floats.count
        p.pointee.floats = arena.copy(a.floats)
        p.pointee.n_ints = a.ints.count
        p.pointee.ints = arena.copy(a.ints)
        p.pointee.n_strings = a.strings.count
        p.pointee.strings = arena.copy(a.strings.map(binary))
        (p.pointee.n_tensors, p.pointee.tensors) = array(a.tensors, tensor)
        (p.pointee.n_graphs, p.pointee.graphs) = array(a.graphs, graph)
        (p.pointee.n_sparse_tensors, p.pointee.sparse_tensors) = array(a.sparseTensors, sparseTensor)
        (p.pointee.n_type_protos, p.pointee.type_protos) = array(a.typeProtos, typeProto)
        return p
    }

    func tensor(_ t: Tensor) -> UnsafeMutablePointer<Onnx__TensorProto> {
        let p = arena.allocate(Onnx__TensorProto.self)
        onnx__tensor_proto__init(p)
        setExtras(p, t.proto)
        p.pointee.n_dims = t.dims.count
        p.pointee.dims = arena.copy(t.dims)
        if t.dataType.rawValue != 0 || t.proto.isExplicit(Tensor.Field.dataType) {
            p.pointee.has_data_type = 1
            p.pointee.data_type = t.dataType.rawValue
        }
        if let s = t.segment { p.pointee.segment = opaque(s, onnx_slim_segment_unpack) }
        p.pointee.n_float_data = t.floatData.count
        p.pointee.float_data = arena.copy(t.floatData)
        p.pointee.n_int32_data = t.int32Data.count
        p.pointee.int32_data = arena.copy(t.int32Data)
        p.pointee.n_string_data = t.stringData.count
        p.pointee.string_data = arena.copy(t.stringData.map(binary))
        p.pointee.n_int64_data = t.int64Data.count
        p.pointee.int64_data = arena.copy(t.int64Data)
        p.pointee.name = string(t.name, Tensor.Field.name, t.proto)
        p.pointee.doc_string = string(t.docString, Tensor.Field.docString, t.proto)
        if let raw = t.raw {
            p.pointee.has_raw_data = 1
            p.pointee.raw_data = binary(raw)
        }
        (p.pointee.n_external_data, p.pointee.external_data) = array(t.externalData, pair)
        if t.dataLocation != 0 || t.proto.isExplicit(Tensor.Field.dataLocation) {
            p.pointee.has_data_location = 1
            p.pointee.data_location = Onnx__TensorProto__DataLocation(rawValue: UInt32(bitPattern: t.dataLocation))
        }
        p.pointee.n_double_data = t.doubleData.count
        p.pointee.double_data = arena.copy(t.doubleData)
        p.pointee.n_uint64_data = t.uint64Data.count
        p.pointee.uint64_data = arena.copy(t.uint64Data)
        (p.pointee.n_metadata_props, p.pointee.metadata_props) = array(t.metadata, pair)
        return p
    }

    func sparseTensor(_ s: SparseTensor) -> UnsafeMutablePointer<Onnx__SparseTensorProto> {
        let p = arena.allocate(Onnx__SparseTensorProto.self)
        onnx__sparse_tensor_proto__init(p)
        setExtras(p, s.proto)
        if let v = s.values { p.pointee.values = tensor(v) }
        if let i = s.indices { p.pointee.indices = tensor(i) }
        p.pointee.n_dims = s.dims.count
        p.pointee.dims = arena.copy(s.dims)
        return p
    }

    func valueInfo(_ v: ValueInfo) -> UnsafeMutablePointer<Onnx__ValueInfoProto> {
        let p = arena.allocate(Onnx__ValueInfoProto.self)
        onnx__value_info_proto__init(p)
        setExtras(p, v.proto)
        p.pointee.name = string(v.name, ValueInfo.Field.name, v.proto)
        if let t = v.type { p.pointee.type = typeProto(t) }
        p.pointee.doc_string = string(v.docString, ValueInfo.Field.docString, v.proto)
        (p.pointee.n_metadata_props, p.pointee.metadata_props) = array(v.metadata, pair)
        return p
    }

    func typeProto(_ t: TypeProto) -> UnsafeMutablePointer<Onnx__TypeProto> {
        let p = arena.allocate(Onnx__TypeProto.self)
        onnx__type_proto__init(p)
        setExtras(p, t.proto)
        p.pointee.denotation = string(t.denotation, TypeProto.Field.denotation, t.proto)
        switch t.value {
        case .none:
            break
        case .tensor(let x):
            let q = arena.allocate(Onnx__TypeProto__Tensor.self)
            onnx__type_proto__tensor__init(q)
            setExtras(q, x.proto)
            (q.pointee.has_elem_type, q.pointee.elem_type, q.pointee.shape) = tensorTypeFields(x)
            p.pointee.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
            p.pointee.tensor_type = q
        case .sparseTensor(let x):
            let q = arena.allocate(Onnx__TypeProto__SparseTensor.self)
            onnx__type_proto__sparse_tensor__init(q)
            setExtras(q, x.proto)
            (q.pointee.has_elem_type, q.pointee.elem_type, q.pointee.shape) = tensorTypeFields(x)
            p.pointee.value_case = ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE
            p.pointee.sparse_tensor_type = q
        case .sequence(let c):
            let q = arena.allocate(Onnx__TypeProto__Sequence.self)
            onnx__type_proto__sequence__init(q)
            setExtras(q, c.proto)
            if let e = c.elemType { q.pointee.elem_type = typeProto(e) }
            p.pointee.value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE
            p.pointee.sequence_type = q
        case .optional(let c):
            let q = arena.allocate(Onnx__TypeProto__Optional.self)
            onnx__type_proto__optional__init(q)
            setExtras(q, c.proto)
            if let e = c.elemType { q.pointee.elem_type = typeProto(e) }
            p.pointee.value_case = ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE
            p.pointee.optional_type = q
        case .map(let m):
            let q = arena.allocate(Onnx__TypeProto__Map.self)
            onnx__type_proto__map__init(q)
            setExtras(q, m.proto)
            if m.keyType.rawValue != 0 || m.proto.isExplicit(MapType.Field.keyType) {
                q.pointee.has_key_type = 1
                q.pointee.key_type = m.keyType.rawValue
            }
            if let v = m.valueType { q.pointee.value_type = typeProto(v) }
            p.pointee.value_case = ONNX__TYPE_PROTO__VALUE_MAP_TYPE
            p.pointee.map_type = q
        case .opaque(let o):
            let q = arena.allocate(Onnx__TypeProto__Opaque.self)
            onnx__type_proto__opaque__init(q)
            setExtras(q, o.proto)
            q.pointee.domain = string(o.domain, OpaqueType.Field.domain, o.proto)
            q.pointee.name = string(o.name, OpaqueType.Field.name, o.proto)
            p.pointee.value_case = ONNX__TYPE_PROTO__VALUE_OPAQUE_TYPE
            p.pointee.opaque_type = q
        }
        return p
    }

    /// The fields TypeProto.Tensor and TypeProto.SparseTensor share.
    private func tensorTypeFields(_ x: TensorType)
        -> (protobuf_c_boolean, Int32, UnsafeMutablePointer<Onnx__TensorShapeProto>?) {
        let present = x.elemType.rawValue != 0 || x.proto.isExplicit(TensorType.Field.elemType)
        return (present ? 1 : 0, present ? x.elemType.rawValue : 0, x.shape.map(shape))
    }

    private func shape(_ s: Shape) -> UnsafeMutablePointer<Onnx__TensorShapeProto> {
        let p = arena.allocate(Onnx__TensorShapeProto.self)
        onnx__tensor_shape_proto__init(p)
        setExtras(p, s.proto)
        (p.pointee.n_dim, p.pointee.dim) = array(s.dims) { d in
            let q = arena.allocate(Onnx__TensorShapeProto__Dimension.self)
            onnx__tensor_shape_proto__dimension__init(q)
            setExtras(q, d.proto)
            switch d.value {
            case .unknown: break
            case .value(let v):
                q.pointee.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                q.pointee.dim_value = v
            case .param(let s):
                q.pointee.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM
                q.pointee.dim_param = arena.cString(s)
            }
            q.pointee.denotation = string(d.denotation, Dimension.Field.denotation, d.proto)
            return q
        }
        return p
    }

    func function(_ f: Function) -> UnsafeMutablePointer<Onnx__FunctionProto> {
        let p = arena.allocate(Onnx__FunctionProto.self)
        onnx__function_proto__init(p)
        setExtras(p, f.proto)
        p.pointee.name = string(f.name, Function.Field.name, f.proto)
        (p.pointee.n_input, p.pointee.input) = strings(f.inputs)
        (p.pointee.n_output, p.pointee.output) = strings(f.outputs)
        (p.pointee.n_attribute, p.pointee.attribute) = strings(f.attributeNames)
        (p.pointee.n_attribute_proto, p.pointee.attribute_proto) = array(f.attributeProtos, attribute)
        (p.pointee.n_node, p.pointee.node) = array(f.nodes, node)
        p.pointee.doc_string = string(f.docString, Function.Field.docString, f.proto)
        (p.pointee.n_opset_import, p.pointee.opset_import) = array(f.opsetImports, opset)
        p.pointee.domain = string(f.domain, Function.Field.domain, f.proto)
        p.pointee.overload = string(f.overload, Function.Field.overload, f.proto)
        (p.pointee.n_value_info, p.pointee.value_info) = array(f.valueInfo, valueInfo)
        (p.pointee.n_metadata_props, p.pointee.metadata_props) = array(f.metadata, pair)
        return p
    }

    func trainingInfo(_ t: TrainingInfo) -> UnsafeMutablePointer<Onnx__TrainingInfoProto> {
        let p = arena.allocate(Onnx__TrainingInfoProto.self)
        onnx__training_info_proto__init(p)
        setExtras(p, t.proto)
        if let g = t.initialization { p.pointee.initialization = graph(g) }
        if let g = t.algorithm { p.pointee.algorithm = graph(g) }
        (p.pointee.n_initialization_binding, p.pointee.initialization_binding) = array(t.initializationBinding, pair)
        (p.pointee.n_update_binding, p.pointee.update_binding) = array(t.updateBinding, pair)
        return p
    }

    func opset(_ o: OperatorSetID) -> UnsafeMutablePointer<Onnx__OperatorSetIdProto> {
        let p = arena.allocate(Onnx__OperatorSetIdProto.self)
        onnx__operator_set_id_proto__init(p)
        setExtras(p, o.proto)
        p.pointee.domain = string(o.domain, OperatorSetID.Field.domain, o.proto)
        if o.version != 0 || o.proto.isExplicit(OperatorSetID.Field.version) {
            p.pointee.has_version = 1
            p.pointee.version = o.version
        }
        return p
    }

    func pair(_ e: StringPair) -> UnsafeMutablePointer<Onnx__StringStringEntryProto> {
        let p = arena.allocate(Onnx__StringStringEntryProto.self)
        onnx__string_string_entry_proto__init(p)
        setExtras(p, e.proto)
        p.pointee.key = string(e.key, 1, e.proto)
        p.pointee.value = string(e.value, 2, e.proto)
        return p
    }

    /// Unpacks an opaque message back into its protobuf-c struct (freed with the arena).
    private func opaque<M>(_ o: OpaqueMessage,
                           _ unpack: (UnsafeMutablePointer<ProtobufCAllocator>?, Int, UnsafePointer<UInt8>?) -> UnsafeMutablePointer<M>?)
        -> UnsafeMutablePointer<M> {
        let m = o.serialized.withUnsafeBufferPointer { unpack(nil, $0.count, $0.baseAddress) }
        // The bytes came from protobuf-c's own packing of a parsed message, so they parse again.
        guard let m else { fatalError("opaque message failed to re-parse") }
        arena.onFree { protobuf_c_message_free_unpacked(UnsafeMutableRawPointer(m).assumingMemoryBound(to: ProtobufCMessage.self), nil) }
        return m
    }

    // MARK: - Field helpers

    private func setExtras<M>(_ m: UnsafeMutablePointer<M>, _ extras: ProtoExtras) {
        guard !extras.unknownFields.isEmpty else { return }
        let base = UnsafeMutableRawPointer(m).assumingMemoryBound(to: ProtobufCMessage.self)
        let fields = arena.allocate(ProtobufCMessageUnknownField.self, count: extras.unknownFields.count)
        for (k, u) in extras.unknownFields.enumerated() {
            fields[k].tag = u.fieldNumber
            fields[k].wire_type = ProtobufCWireType(rawValue: UInt32(u.wireType))
            // protobuf-c expects the length prefix inside `data` for length-delimited fields.
            var bytes: [UInt8] = []
            if u.wireType == 2 { RawDataReference.appendVarint(UInt64(u.payload.count), to: &bytes) }
            bytes += u.payload
            fields[k].len = bytes.count
            fields[k].data = arena.copy(bytes)
        }
        base.pointee.n_unknown_fields = UInt32(extras.unknownFields.count)
        base.pointee.unknown_fields = fields
    }

    private func string(_ s: String, _ field: Int, _ extras: ProtoExtras) -> UnsafeMutablePointer<CChar>? {
        if s.isEmpty && !extras.isExplicit(field) { return nil }
        return arena.cString(s)
    }

    private func strings(_ values: [String]) -> (Int, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) {
        guard !values.isEmpty else { return (0, nil) }
        let p = arena.allocate(UnsafeMutablePointer<CChar>?.self, count: values.count)
        for (k, v) in values.enumerated() { p[k] = arena.cString(v) }
        return (values.count, p)
    }

    private func binary(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        ProtobufCBinaryData(len: bytes.count, data: arena.copy(bytes))
    }

    /// Points at the view's memory; the IR keeps it alive while packing.
    private func binary(_ view: ByteView) -> ProtobufCBinaryData {
        view.withUnsafeBytes {
            ProtobufCBinaryData(len: $0.count, data: UnsafeMutablePointer(mutating: $0.baseAddress?.assumingMemoryBound(to: UInt8.self)))
        }
    }

    private func array<T, C>(_ values: [T], _ convert: (T) -> UnsafeMutablePointer<C>)
        -> (Int, UnsafeMutablePointer<UnsafeMutablePointer<C>?>?) {
        guard !values.isEmpty else { return (0, nil) }
        let p = arena.allocate(UnsafeMutablePointer<C>?.self, count: values.count)
        for (k, v) in values.enumerated() { p[k] = convert(v) }
        return (values.count, p)
    }
}
